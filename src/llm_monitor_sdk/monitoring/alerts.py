"""The alert engine: state per rule and group, judged as records arrive and once a second.

States: ``ok`` -> ``pending`` (the condition holds, waiting out ``for=``) -> ``firing`` -> back to
``ok`` when the condition stops holding (a *resolution*), after which the same rule and group may
not fire again for ``cooldown=`` (default: the window). Rate, mean and percentile rules are not
judged on fewer than ``min_calls`` records in the window: with too little data the condition does
not hold, so a firing alert resolves when traffic stops. ``.zscore`` rules are not judged until
their baseline holds enough completed windows (:attr:`AlertRule.min_baseline_windows`).

Everything here runs on the export worker (``process`` per record, ``tick`` at least once a
second); :meth:`AlertProcessor.firing` and :meth:`AlertProcessor.stats` may be called from any
thread. Each transition gives exactly one ``kind="alert"`` record (returned to the worker, exported
in the same batch), one log line on ``llm_monitor_sdk.alerts`` (WARNING when firing, INFO when
resolved) and one notification per configured channel (:mod:`.notify`, on its own threads).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from .. import _clock, _forksafe
from ..record import RecordDict
from .notify import Notifier, alert_text
from .rules import AlertRule, parse_rules
from .windows import (
    BUCKETS,
    COST,
    COST_N,
    FAILS,
    FIELDS,
    JUDGED,
    LATENCY,
    SCORE_N,
    SCORE_SUM,
    TTFT,
    Count,
    GroupWindow,
    Measure,
    N,
    Percentile,
    Ratio,
    Streak,
    WindowSet,
    ZScore,
    call_sample,
    compile_process,
    guardrail_sample,
    verdict_sample,
)

logger = logging.getLogger("llm_monitor_sdk.alerts")

_OK, _PENDING, _FIRING = 0, 1, 2


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def build_measure(rule: AlertRule) -> Measure:
    """The measure that computes and judges ``rule``'s value over its window."""
    info = rule.info
    op, threshold = rule.op, rule.threshold

    def plain(for_zscore: bool) -> Measure:
        if info.measure == "percentile":
            assert info.quantile is not None
            return Percentile(
                LATENCY if info.field == "latency" else TTFT,
                info.quantile,
                op,
                threshold,
                rule.min_calls,
                judge_by_counts=not for_zscore,
            )
        if info.measure == "rate":
            if info.population in ("evaluation", "feedback"):
                return Ratio(FAILS, JUDGED, JUDGED, op, threshold, rule.min_calls)
            return Ratio(FIELDS[info.field], N, N, op, threshold, rule.min_calls)
        if info.measure == "mean":
            if info.population == "calls":
                return Ratio(COST, COST_N, N, op, threshold, rule.min_calls)
            return Ratio(SCORE_SUM, SCORE_N, SCORE_N, op, threshold, rule.min_calls)
        if info.measure == "count":
            return Count(N, 1.0, op, threshold)
        if info.measure == "per_s":
            return Count(N, 1.0 / rule.window_s, op, threshold)
        if info.measure == "sum":
            return Count(FIELDS[info.field], 1.0, op, threshold)
        if info.measure == "streak":
            return Streak(op, threshold, 0)
        raise ValueError(f"unknown measure {info.measure!r}")  # pragma: no cover

    if rule.zscore:
        return ZScore(plain(True), rule.baseline_windows, rule.min_baseline_windows, op, threshold)
    return plain(False)


class _State:
    """One rule's alert state for one group (only groups that are not plainly ``ok`` have one)."""

    __slots__ = ("alert", "cooldown_until", "phase", "since")

    def __init__(self) -> None:
        self.phase = _OK
        self.since = 0.0
        self.cooldown_until = -math.inf
        self.alert: dict[str, Any] | None = None


class _Binding:
    """A rule attached to its window set."""

    __slots__ = ("measure", "rule", "windows")

    def __init__(self, rule: AlertRule, windows: WindowSet, measure: Measure) -> None:
        self.rule = rule
        self.windows = windows
        self.measure = measure


class AlertEngine:
    """Rules over windows: turns records and time into alert transitions (alert objects).

    Pure state, no threads, no I/O: :class:`AlertProcessor` wraps it for the export worker.
    """

    def __init__(self, rules: Iterable[AlertRule]) -> None:
        self.rules = list(rules)
        self._sets: dict[tuple[Any, ...], WindowSet] = {}
        self._bindings: dict[int, list[_Binding]] = {}  # id(window set) -> bindings by slot
        for rule in self.rules:
            info = rule.info
            key = (info.population, info.source, rule.window_s, rule.by, rule.max_groups)
            windows = self._sets.get(key)
            if windows is None:
                windows = self._sets[key] = WindowSet(
                    info.population, info.source, rule.window_s, rule.by, rule.max_groups
                )
                self._bindings[id(windows)] = []
            measure = build_measure(rule)
            slot = windows.add_measure(measure)
            bindings = self._bindings[id(windows)]
            assert slot == len(bindings)
            bindings.append(_Binding(rule, windows, measure))
        for windows in self._sets.values():
            windows.freeze()
        # Per population: its window sets and the one compiled function that counts a record in all.
        populations: dict[tuple[str, str | None], list[WindowSet]] = {}
        for windows in self._sets.values():
            populations.setdefault((windows.population, windows.source), []).append(windows)
        plans = {key: (sets, compile_process(sets)) for key, sets in populations.items()}
        self._calls = plans.pop(("calls", None), None)
        self._by_source = plans

    @property
    def window_sets(self) -> list[WindowSet]:
        """Every window set (one per population, window, ``by=`` and group cap)."""
        return list(self._sets.values())

    def process(self, record: RecordDict, now: float) -> list[dict[str, Any]] | None:
        """Count one record and judge the rules it touches; the transitions it caused, if any."""
        kind = record.get("kind")
        if kind == "llm_call":
            plan = self._calls
            if plan is None:
                return None
            sample = call_sample(record)
        elif kind in ("evaluation", "feedback", "guardrail"):
            item = record.get("guardrail" if kind == "guardrail" else "evaluation")
            if not isinstance(item, dict):
                return None
            plan = self._by_source.get((kind, item.get("name")))
            if plan is None:
                return None
            sample = (
                guardrail_sample(item)
                if kind == "guardrail"
                else verdict_sample(item, derive_passed=kind == "feedback")
            )
        else:
            return None
        if sample is None:
            return None
        sets, process = plan
        values, latency, latency_key = sample.values, sample.latency, sample.latency_key
        ttft, ttft_key, streak = sample.ttft, sample.ttft_key, sample.streak
        events: list[dict[str, Any]] | None = None
        hits = process(record, now, values, latency, latency_key, ttft, ttft_key, streak)
        if hits is None:
            return None
        for k, window, mask, todo in hits:
            windows = sets[k]
            if windows.complex:
                mask, skipped = self._judge_complex(windows, window, window.cur[0], mask, False)
                todo = ((mask ^ window.firing) | window.pending) & ~skipped
                if skipped:
                    windows.dirty_keys.add(window.key)
            if todo:
                found = self._transitions(windows, window, todo, mask, now)
                if found:
                    if events is None:
                        events = found
                    else:
                        events.extend(found)
        return events

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Judge what time alone can change: groups with an alert state (pending ``for=``, firing,
        cooling down), groups whose oldest bucket leaves the window now, and groups with a z-score
        baseline. Groups with nothing left to remember are forgotten."""
        events: list[dict[str, Any]] = []
        for windows in self._sets.values():
            index = int(now * windows.inv)
            groups = windows.groups
            # Pending groups (for= may elapse), groups whose expensive rule was skipped as records
            # arrived, and the groups due now: their oldest bucket leaves the window, or a z-score
            # window ends. Firing and cooling-down groups change only with records or expiry.
            keys = windows.pending_keys | windows.dirty_keys
            windows.dirty_keys = set()
            due = windows.due
            for at in [at for at in due if at <= index]:
                keys |= due.pop(at)
            boundary = (index // BUCKETS + 1) * BUCKETS
            roll, judge, complex_rules = windows.roll, windows.judge, bool(windows.complex)
            due_get = due.get
            for key in keys:
                window = groups.get(key)
                if window is None:
                    continue
                roll(window, index)
                mask = judge(window)
                if complex_rules:
                    mask, _ = self._judge_complex(windows, window, index, mask, True)
                todo = mask | window.hot
                if todo:
                    found = self._transitions(windows, window, todo, mask, now)
                    if found:
                        events.extend(found)
                if window.baselines is not None:
                    pending = due_get(boundary)
                    if pending is None:
                        due[boundary] = {key}
                    else:
                        pending.add(key)
                # Look again when the oldest bucket leaves the window (forget the group when empty).
                buckets = window.buckets
                if buckets:
                    at = buckets[0][0] + BUCKETS
                elif window.cur[1]:
                    at = window.cur[0] + BUCKETS
                elif window.quiet():
                    windows.forget(key)
                    continue
                elif window.states is not None and not window.firing:
                    # Empty, cooling down: look again when the last cooldown ends, to free it.
                    ends = max(state.cooldown_until for state in window.states if state is not None)
                    at = max(index + 1, int(ends * windows.inv) + 1)
                else:
                    continue
                pending = due_get(at)
                if pending is None:
                    due[at] = {key}
                else:
                    pending.add(key)
        return events

    def _judge_complex(
        self, windows: WindowSet, window: GroupWindow, index: int, mask: int, full: bool
    ) -> tuple[int, int]:
        # Rules judged by their measure's method; an expensive one (a percentile z-score) at most
        # once per bucket as records arrive. Returns the mask and the slots left unjudged.
        skipped = 0
        judged_expensive = False
        for slot, measure in windows.complex:
            if measure.expensive:
                if not full and window.judged_at == index:
                    skipped |= 1 << slot
                    continue
                judged_expensive = True
            if measure.breached(windows, window):
                mask |= 1 << slot
        if judged_expensive:
            window.judged_at = index
        return mask, skipped

    def _transitions(
        self, windows: WindowSet, window: GroupWindow, todo: int, mask: int, now: float
    ) -> list[dict[str, Any]] | None:
        events: list[dict[str, Any]] | None = None
        bindings = self._bindings[id(windows)]
        states = window.states
        if states is None:
            states = window.states = [None] * len(bindings)
        slot = 0
        while todo:
            if todo & 1:
                bit = 1 << slot
                breached = bool(mask & bit)
                state = states[slot]
                if state is None and breached:
                    state = states[slot] = _State()
                    window.hot |= bit
                if state is not None:
                    event = self._step(bindings[slot], window, state, breached, now)
                    phase = state.phase
                    window.firing = window.firing | bit if phase == _FIRING else window.firing & ~bit
                    window.pending = window.pending | bit if phase == _PENDING else window.pending & ~bit
                    if phase == _OK and state.cooldown_until <= now:
                        states[slot] = None
                        window.hot &= ~bit
                    if event is not None:
                        if events is None:
                            events = [event]
                        else:
                            events.append(event)
            todo >>= 1
            slot += 1
        if window.pending:
            windows.pending_keys.add(window.key)
        else:
            windows.pending_keys.discard(window.key)
        if not window.hot:
            window.states = None
        return events

    def _step(
        self, binding: _Binding, window: GroupWindow, state: _State, breached: bool, now: float
    ) -> dict[str, Any] | None:
        rule = binding.rule
        if breached:
            if state.phase == _FIRING:
                return None
            if state.phase == _OK:
                state.phase = _PENDING
                state.since = now
            if now - state.since >= rule.for_s and now >= state.cooldown_until:
                state.phase = _FIRING
                state.alert = self._alert(binding, window, now)
                return dict(state.alert)
            return None
        if state.phase == _PENDING:
            state.phase = _OK
            return None
        if state.phase == _FIRING:
            fired = state.alert or self._alert(binding, window, now)
            resolved = dict(fired)
            resolved["state"] = "resolved"
            resolved["resolved_at"] = _iso(now)
            resolved["value"] = _round(binding.measure.value(binding.windows, window))
            resolved["calls"] = binding.measure.calls(binding.windows, window)
            state.phase = _OK
            state.alert = None
            state.cooldown_until = now + rule.cooldown_s
            return resolved
        return None

    def _alert(self, binding: _Binding, window: GroupWindow, now: float) -> dict[str, Any]:
        rule, measure, windows = binding.rule, binding.measure, binding.windows
        return {
            "name": rule.name,
            "rule": rule.text,
            "metric": rule.metric,
            "op": rule.op,
            "threshold": rule.threshold,
            "value": _round(measure.value(windows, window)),
            "window_s": rule.window_s,
            "group": {rule.by: window.key} if rule.by else {},
            "state": "firing",
            "severity": rule.severity,
            "owner": rule.owner,
            "runbook": rule.runbook,
            "calls": measure.calls(windows, window),
            "fired_at": _iso(now),
            "resolved_at": None,
        }

    def stats(self) -> dict[str, int]:
        """Groups held, evicted at the cap, and records not counted because every group was busy."""
        return {
            "groups": sum(len(w.groups) for w in self._sets.values()),
            "groups_evicted": sum(w.evicted for w in self._sets.values()),
            "groups_dropped": sum(w.dropped for w in self._sets.values()),
        }


class AlertProcessor:
    """The processor behind ``LLM_MONITOR_ALERTS``: the engine, its records, log lines and notifications.

    Args:
        rules: rule text (``;``-separated), a list of rule strings, or parsed :class:`AlertRule`.
        on_alert: called once per firing and once per resolution, on a notifier thread.
        webhook_url: gets a JSON POST per firing and resolution, on a notifier thread.
        notifier: a ready :class:`Notifier` (instead of ``on_alert``/``webhook_url``).
        clock: seconds since the epoch (default :func:`llm_monitor_sdk._clock.now`).

    Raises:
        ValueError: a malformed rule (naming ``LLM_MONITOR_ALERTS``), or a bad webhook URL.
    """

    name = "alerts"

    def __init__(
        self,
        rules: Any,
        *,
        on_alert: Callable[[dict[str, Any]], Any] | None = None,
        webhook_url: str | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.rules = parse_rules(rules)
        self.engine = AlertEngine(self.rules)
        self.notifier = (
            notifier if notifier is not None else Notifier(on_alert=on_alert, webhook_url=webhook_url)
        )
        self._clock = clock
        self._lock = threading.Lock()
        _forksafe.after_fork(self, _forksafe.fresh_lock)
        self._firing: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, Any]] = {}
        self.fired = 0
        self.resolved = 0

    def _now(self) -> float:
        return self._clock() if self._clock is not None else _clock.now()

    def process(self, record: RecordDict) -> list[RecordDict] | None:
        """Count one record; the ``kind="alert"`` records of the transitions it caused."""
        events = self.engine.process(record, self._now())
        return self._publish(events) if events else None

    def tick(self, now: float) -> list[RecordDict] | None:
        """Judge every rule and group at ``now`` (the worker calls this at least once a second)."""
        events = self.engine.tick(now)
        return self._publish(events) if events else None

    def _publish(self, events: list[dict[str, Any]]) -> list[RecordDict]:
        records: list[RecordDict] = []
        for alert in events:
            key = (alert["name"], tuple(sorted(alert["group"].items())))
            firing = alert["state"] == "firing"
            with self._lock:
                if firing:
                    self._firing[key] = alert
                    self.fired += 1
                else:
                    self._firing.pop(key, None)
                    self.resolved += 1
            level = logging.WARNING if firing else logging.INFO
            if logger.isEnabledFor(level):
                text = alert_text(alert, slack=False)
                logger.log(level, "llm-monitor alert: %s", text, extra={"llm_monitor_alert": dict(alert)})
            self.notifier.notify(alert)
            started = alert["fired_at"]
            ended = alert["resolved_at"] or started
            records.append({"kind": "alert", "alert": alert, "started_at": started, "ended_at": ended})
        return records

    def firing(self) -> list[dict[str, Any]]:
        """The alert objects firing now (copies; safe from any thread)."""
        with self._lock:
            alerts = list(self._firing.values())
        out = []
        for alert in alerts:
            copied = dict(alert)
            copied["group"] = dict(alert["group"])
            out.append(copied)
        return out

    def stats(self) -> dict[str, Any]:
        """``alerts_firing`` and ``alerts`` (rules, fired, resolved, groups, notification counters)."""
        with self._lock:
            firing = len(self._firing)
        return {
            "alerts_firing": firing,
            "alerts": {
                "rules": len(self.rules),
                "fired": self.fired,
                "resolved": self.resolved,
                **self.engine.stats(),
                "notifications": self.notifier.stats(),
            },
        }

    def shutdown(self, timeout: float = 2.0) -> None:
        """Deliver queued notifications within ``timeout``, then stop the notifier threads."""
        self.notifier.shutdown(timeout)


__all__ = ["AlertEngine", "AlertProcessor", "build_measure"]
