"""Monitoring inside the process: rolling windows, alert rules, notifications, prompt-change events.

:func:`build_processors` turns the settings into the processors the export worker runs (see
:mod:`llm_monitor_sdk.processors`): always the prompt-change processor, plus the alert processor
when ``LLM_MONITOR_ALERTS`` (or ``instrument(alerts=...)``) holds rules. Grammar and behaviour:
``docs/alerts.md``.
"""

from __future__ import annotations

from typing import Any

from .alerts import AlertEngine, AlertProcessor
from .notify import Notifier, alert_text
from .prompts import PromptChangeProcessor
from .rules import AlertRule, parse_rule, parse_rules


def build_processors(settings: Any) -> list[Any]:
    """The monitoring processors for these settings (``llm_monitor_sdk.config.Settings``).

    Reads ``settings.alerts`` (rule text, or a list of rule strings / :class:`AlertRule`),
    ``settings.alert_webhook`` and ``settings.on_alert``.

    Raises:
        ValueError: a malformed rule (naming ``LLM_MONITOR_ALERTS``, the rule and what is wrong), or a
            webhook URL that is not http(s) (naming ``LLM_MONITOR_ALERT_WEBHOOK``).
    """
    processors: list[Any] = [PromptChangeProcessor()]
    rules = parse_rules(getattr(settings, "alerts", None))
    webhook = getattr(settings, "alert_webhook", None)
    on_alert = getattr(settings, "on_alert", None)
    if rules:
        processors.append(AlertProcessor(rules, on_alert=on_alert, webhook_url=webhook))
    elif webhook:
        # Validated even without rules, so a typo shows at instrument() time.
        Notifier(webhook_url=webhook)
    return processors


def alert_processor(processors: list[Any]) -> AlertProcessor | None:
    """The alert processor among ``processors`` (what ``lm.alerts()`` reads), if any."""
    for processor in processors:
        if isinstance(processor, AlertProcessor):
            return processor
    return None


__all__ = [
    "AlertEngine",
    "AlertProcessor",
    "AlertRule",
    "Notifier",
    "PromptChangeProcessor",
    "alert_processor",
    "alert_text",
    "build_processors",
    "parse_rule",
    "parse_rules",
]
