"""Alert notifications off the export worker: the ``on_alert`` callback and the webhook POST.

Each channel has its own daemon thread and its own bounded queue, so a slow or dead webhook never
delays the callback (and neither ever delays the export worker, which only appends to a queue). A
full queue drops the notification and counts it (``dropped``); a callback that raises and a
webhook that still fails after its retries are counted (``failed``) and logged once, and the next
alert is delivered as usual. The ``kind="alert"`` record and the log line do not go through here:
the engine emits them on the worker, so they are never lost to a notification problem.

Webhook body: ``{"text": <one Slack-compatible line>, "alert": <the alert object>}`` as JSON,
``Content-Type: application/json``; retried on connection errors, timeouts, 408, 429 and 5xx with
exponential backoff (0.5 s, 1 s, 2 s by default). The URL is never logged (webhook URLs often hold
a secret).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.request
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from .._version import __version__
from .rules import format_duration

logger = logging.getLogger("llm_monitor_sdk.alerts")

#: Notifications a channel queues before it drops new ones.
DEFAULT_QUEUE_SIZE = 1000
WEBHOOK_VARIABLE = "LLM_MONITOR_ALERT_WEBHOOK"


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn needs these three escaped; other webhook receivers just see the entities.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _value_text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def alert_text(alert: dict[str, Any], *, slack: bool = True) -> str:
    """One line naming the rule, value, group, owner and runbook.

    ``slack=True`` (the webhook's ``text``) escapes ``&``, ``<`` and ``>`` and links the runbook in
    Slack's mrkdwn; ``slack=False`` is the plain line the log gets.
    """
    esc = _slack_escape if slack else str
    firing = alert.get("state") == "firing"
    icon = (":rotating_light:" if firing else ":white_check_mark:") if slack else "ALERT"
    severity = str(alert.get("severity") or "warning").upper()
    what = "FIRING" if firing else "resolved"
    window = alert.get("window_s")
    window_text = format_duration(float(window)) if isinstance(window, int | float) else "?"
    condition = (
        f"{alert.get('metric')} = {_value_text(alert.get('value'))} "
        f"(rule: {alert.get('op')} {_value_text(alert.get('threshold'))} over {window_text})"
    )
    group = alert.get("group") or {}
    where = ", ".join(f"{k}={v}" for k, v in group.items()) if group else "all calls"
    parts = [
        f"{icon} [{severity}] {esc(str(alert.get('name')))} {what}: {esc(condition)}",
        f"group: {esc(where)}",
        f"calls: {alert.get('calls')}",
    ]
    if alert.get("owner"):
        parts.append(f"owner: {esc(str(alert['owner']))}")
    if alert.get("runbook"):
        parts.append(f"runbook: <{alert['runbook']}|runbook>" if slack else f"runbook: {alert['runbook']}")
    return "; ".join(parts)


class _Channel:
    """One delivery function behind a bounded queue and a daemon thread of its own."""

    def __init__(self, name: str, deliver: Callable[[dict[str, Any]], None], queue_size: int) -> None:
        self.name = name
        self._deliver = deliver
        self._queue_size = max(1, queue_size)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.lost_at_shutdown = 0
        self._warned = False
        self._reset()
        self_ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_channel(self_ref))

    def _reset(self) -> None:
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._busy = False
        self._stopping = False
        self.stop_event = threading.Event()

    def put(self, alert: dict[str, Any]) -> bool:
        """Queue one notification; never blocks. False (and counted) when the queue is full."""
        with self._cond:
            if self._stopping or len(self._queue) >= self._queue_size:
                self.dropped += 1
                return False
            self._queue.append(alert)
            self._cond.notify()
            thread = self._thread
        if thread is None or not thread.is_alive():
            self._start()
        return True

    def _start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            thread = threading.Thread(target=self._run, name=f"llm-monitor-alerts-{self.name}", daemon=True)
            self._thread = thread
        thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                alert = self._queue.popleft()
                self._busy = True
            try:
                self._deliver(alert)
            except Exception as exc:
                self.failed += 1
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "llm-monitor: alert %s delivery failed (further failures are only counted): %s",
                        self.name,
                        _describe(exc),
                    )
            else:
                self.sent += 1
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued was delivered (or failed) or ``timeout`` passed."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, max(0.0, timeout))

    def stop(self, timeout: float) -> None:
        """Deliver what is queued within ``timeout``, then stop; what is left is counted as lost."""
        self.drain(timeout)
        with self._cond:
            self._stopping = True
            self.lost_at_shutdown += len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        self.stop_event.set()

    def stats(self) -> dict[str, int]:
        """sent, failed, dropped (queue full), queued, lost_at_shutdown."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "queued": len(self._queue),
            "lost_at_shutdown": self.lost_at_shutdown,
        }


def _reset_channel(ref: weakref.ref[_Channel]) -> None:
    channel = ref()
    if channel is not None:
        channel._reset()


def _describe(exc: BaseException) -> str:
    # Never the URL: urllib's HTTPError and URLError texts carry the status or the socket error only.
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc.reason).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def check_webhook_url(url: str) -> str:
    """The URL if it is http(s); ``ValueError`` naming ``LLM_MONITOR_ALERT_WEBHOOK`` otherwise."""
    if not url.lower().startswith(("http://", "https://")) or len(url) < 10:
        raise ValueError(f"{WEBHOOK_VARIABLE}: expected an http:// or https:// URL")
    return url


class Notifier:
    """Delivers alert transitions to the ``on_alert`` callback and the webhook, each on its own thread.

    Args:
        on_alert: called with a copy of each alert object (firing and resolution).
        webhook_url: gets ``{"text", "alert"}`` as a JSON POST.
        queue_size: notifications each channel holds before it drops (and counts) new ones.
        timeout: seconds per webhook request.
        retries: webhook attempts after the first.
        backoff: seconds before the first retry; doubled each time, at most ``max_backoff``.
    """

    def __init__(
        self,
        *,
        on_alert: Callable[[dict[str, Any]], Any] | None = None,
        webhook_url: str | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
    ) -> None:
        if on_alert is not None and not callable(on_alert):
            raise ValueError(f"on_alert: {on_alert!r} is not callable")
        self.webhook_url = check_webhook_url(webhook_url) if webhook_url else None
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._callback = on_alert
        self._channels: dict[str, _Channel] = {}
        if on_alert is not None:
            self._channels["callback"] = _Channel("callback", self._call, queue_size)
        if self.webhook_url is not None:
            self._channels["webhook"] = _Channel("webhook", self._post, queue_size)

    @property
    def channels(self) -> tuple[str, ...]:
        """The configured channels: ``callback`` and/or ``webhook``."""
        return tuple(self._channels)

    def notify(self, alert: dict[str, Any]) -> None:
        """Queue one alert transition on every channel (each gets its own copy); never blocks."""
        for channel in self._channels.values():
            channel.put(_copy(alert))

    def _call(self, alert: dict[str, Any]) -> None:
        assert self._callback is not None
        self._callback(alert)

    def _post(self, alert: dict[str, Any]) -> None:
        assert self.webhook_url is not None
        body = json.dumps({"text": alert_text(alert), "alert": alert}, default=str).encode("utf-8")
        stop = self._channels["webhook"].stop_event
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(
                self.webhook_url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": f"llm-monitor-sdk/{__version__}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                return
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    raise  # the receiver rejects the request: retrying cannot help
                last = exc
            except OSError as exc:  # URLError, timeouts, resets
                last = exc
            if attempt < self.retries and stop.wait(min(self.backoff * (2**attempt), self.max_backoff)):
                break
        assert last is not None
        raise last

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queued notification was handled (tests, shutdown)."""
        ok = True
        for channel in self._channels.values():
            ok = channel.drain(timeout) and ok
        return ok

    def shutdown(self, timeout: float = 2.0) -> None:
        """Deliver what is queued within ``timeout`` (shared by the channels), then stop."""
        share = timeout / max(1, len(self._channels))
        for channel in self._channels.values():
            channel.stop(share)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per channel: sent, failed, dropped, queued, lost_at_shutdown."""
        return {name: channel.stats() for name, channel in self._channels.items()}


def _copy(alert: dict[str, Any]) -> dict[str, Any]:
    copied = dict(alert)
    if isinstance(copied.get("group"), dict):
        copied["group"] = dict(copied["group"])
    return copied


__all__ = ["DEFAULT_QUEUE_SIZE", "Notifier", "alert_text", "check_webhook_url"]
