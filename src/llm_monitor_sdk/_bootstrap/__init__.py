"""Zero-code start-up for ``llm-monitor run``.

This folder holds the ``sitecustomize`` module that ``llm-monitor run`` puts first on ``PYTHONPATH``
(see :mod:`llm_monitor_sdk.cli.run`). When the program first imports a provider client or
``llm_monitor_sdk`` (or at start-up with ``LLM_MONITOR_RUN_EAGER=true``), it calls :func:`start`, which
calls ``instrument()`` configured from the environment. Nothing here may stop the user's program:
every failure is reported in one line and the program goes on.

Only ``sitecustomize.py`` and this file live here, because the whole folder is on ``sys.path`` while
``site`` runs (the ``sitecustomize`` removes it right away).
"""

from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger("llm_monitor_sdk.bootstrap")

#: Folder to put first on ``PYTHONPATH``.
BOOTSTRAP_DIR = os.path.dirname(os.path.abspath(__file__))
#: Set by ``llm-monitor run`` to its own pid, which the program keeps after ``exec``.
RUN_PID_VARIABLE = "LLM_MONITOR_RUN_PID"

#: True once :func:`start` instrumented this process.
started = False


def _say(message: str) -> None:
    # In the process `llm-monitor run` started, on stderr (no logging is configured this early);
    # in its subprocesses (possibly other programs entirely) only through logging.
    if os.environ.get(RUN_PID_VARIABLE) == str(os.getpid()) or os.environ.get("LLM_MONITOR_BOOTSTRAP_DEBUG"):
        try:
            sys.stderr.write(f"llm-monitor: {message}\n")
        except Exception:
            pass
    else:
        logger.info("llm-monitor: %s", message)


def start() -> bool:
    """``instrument()`` from the environment; True when this process is now monitored.

    A bad setting (``ValueError`` naming the variable) or any other failure is reported in one line and
    the program runs unmonitored. ``LLM_MONITOR_DISABLED=true`` does nothing.
    """
    global started
    try:
        import llm_monitor_sdk as lm
        from llm_monitor_sdk.config import parse_bool

        if parse_bool(os.environ.get("LLM_MONITOR_DISABLED", "false"), "LLM_MONITOR_DISABLED"):
            return False
        lm.instrument()
    except ValueError as exc:
        _say(f"configuration error, the program runs without monitoring: {exc}")
        return False
    except Exception as exc:
        _say(f"start-up failed, the program runs without monitoring ({type(exc).__name__}: {exc})")
        return False
    started = True
    return True


__all__ = ["BOOTSTRAP_DIR", "RUN_PID_VARIABLE", "start", "started"]
