"""Sliding time-bucketed windows, per metric and per group, in bounded memory.

A window of ``W`` seconds is a ring of :data:`BUCKETS` time buckets of ``W / 30`` seconds each (so
a window slides in steps of at most 1/30 of its length). Each bucket holds a handful of counts and
sums (calls, errors by category, cost, tokens, ...) and, for percentile rules, the log-histogram
bucket numbers of its latencies (:class:`~llm_monitor_sdk.metrics.LogHistogram`'s 1 % buckets, so a
reported percentile is within 1 % of the exact one). Buckets are mergeable: the window's totals are
the sum of its closed buckets (kept up to date as buckets close and expire) plus the open one, so
reading a rate or a sum is O(1) per record.

Percentile rules do not need the percentile itself to be judged: ``p99 > T`` holds exactly when
fewer than ``ceil(0.99 n)`` of the ``n`` values are ``<= T``, so each bucket also counts the values
on either side of every percentile rule's threshold and judging stays O(1). The percentile is only
computed (by merging the window's histogram buckets) for the alert's reported ``value`` and for
``.zscore`` rules.

One :class:`WindowSet` serves every rule with the same population, window and ``by=`` dimension;
it holds one :class:`GroupWindow` per group, at most ``max_groups`` of them: when a new group
arrives at the cap, the least recently active group that has no alert pending, firing or cooling
down is evicted (``evicted``); if every group has one, the record is not counted for that rule
(``dropped``). Groups that are empty and quiet are forgotten by the once-a-second tick.

Time comes from the caller (the alert engine reads :func:`llm_monitor_sdk._clock.now`, which tests
replace); nothing here reads a clock.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..metrics import _GROWTH, LogHistogram, _bucket
from .classify import (
    DOWN_CATEGORIES,
    GROUP_FIELDS,
    JUDGE_FEATURE,
    JUDGE_METADATA_KEY,
    content_filtered,
    error_category,
)

#: Time buckets per window.
BUCKETS = 30

# What one record contributes (a dense vector of these, built once per record).
N = 0  # records of the population (calls, evaluations, feedback items, guardrail checks)
ERRORS = 1
TIMEOUTS = 2
RATE_LIMITS = 3
CONTENT_FILTERED = 4
BLOCKED = 5
COST = 6
COST_N = 7  # calls with a known cost
INPUT_TOKENS = 8
OUTPUT_TOKENS = 9
TOTAL_TOKENS = 10
LATENCY_N = 11
TTFT_N = 12
SCORE_SUM = 13
SCORE_N = 14
FAILS = 15
JUDGED = 16  # items with a pass/fail verdict
SAMPLE_FIELDS = 17

#: Record field name (as rules spell it) -> sample field.
FIELDS: dict[str, int] = {
    "calls": N,
    "errors": ERRORS,
    "timeouts": TIMEOUTS,
    "rate_limits": RATE_LIMITS,
    "content_filtered": CONTENT_FILTERED,
    "blocked": BLOCKED,
    "cost": COST,
    "input_tokens": INPUT_TOKENS,
    "output_tokens": OUTPUT_TOKENS,
    "total_tokens": TOTAL_TOKENS,
    "score": SCORE_SUM,
    "fails": FAILS,
}

LATENCY = 0
TTFT = 1
STREAK_NONE = 0
STREAK_ERROR = 1
STREAK_RESET = 2
#: Key-store entry for a value of zero (LogHistogram keeps those apart from its log buckets).
_ZERO_KEY = -(2**31)
# A bucket's key store is a compact array until it holds this many values, then a Counter.
_ARRAY_LIMIT = 128


def _number(value: Any) -> float | None:
    # A finite int or float (not a bool) as a float; anything else None. ``x - x`` is 0.0 only for
    # finite floats (inf - inf and nan - nan are nan).
    kind = type(value)
    if kind is float:
        return value if value - value == 0.0 else None
    if kind is int:
        return float(value)
    return None


class Sample:
    """What one record contributes to every window that counts it (read from the record once).

    ``values`` is the dense vector of the fields above; ``streak`` is ``STREAK_ERROR`` (a
    provider-down failure), ``STREAK_RESET`` (a success) or ``STREAK_NONE``.
    """

    __slots__ = ("latency", "latency_key", "streak", "ttft", "ttft_key", "values")

    def __init__(self, values: list[Any]) -> None:
        self.values: list[Any] = values
        self.latency: float | None = None
        self.latency_key = 0
        self.ttft: float | None = None
        self.ttft_key = 0
        self.streak = STREAK_NONE


def _key(value: float) -> int:
    found = _bucket(value)  # LogHistogram's own bucket numbers
    return _ZERO_KEY if found is None else found


_ZEROS: list[Any] = [0] * SAMPLE_FIELDS


def call_sample(record: Mapping[str, Any]) -> Sample | None:
    """The sample of an ``llm_call`` record; ``None`` for judge calls (never counted)."""
    if record.get("feature") == JUDGE_FEATURE:
        return None
    metadata = record.get("metadata")
    if metadata and JUDGE_METADATA_KEY in metadata:
        return None
    v = _ZEROS.copy()
    sample = Sample(v)
    v[N] = 1
    status = record.get("status") or "ok"
    category = None
    if status == "error":
        category = error_category(record)
        v[ERRORS] = 1
        if category == "timeout":
            v[TIMEOUTS] = 1
        elif category == "rate_limit":
            v[RATE_LIMITS] = 1
        if category in DOWN_CATEGORIES:
            sample.streak = STREAK_ERROR
    elif status == "blocked":
        v[BLOCKED] = 1
    else:
        sample.streak = STREAK_RESET
    safety = record.get("safety")
    if type(safety) is dict and "content_filtered" in safety and category != "content_filter":
        if safety["content_filtered"]:
            v[CONTENT_FILTERED] = 1
    elif content_filtered(record, category):
        v[CONTENT_FILTERED] = 1
    # Numbers inline (this runs once per record): a finite int or float, not a bool.
    x: Any = record.get("cost_usd")
    kind = type(x)
    if (kind is float and x - x == 0.0) or kind is int:
        v[COST] = x
        v[COST_N] = 1
    usage = record.get("usage")
    if usage:
        x = usage.get("input_tokens")
        if type(x) is int:
            v[INPUT_TOKENS] = x
        x = usage.get("output_tokens")
        if type(x) is int:
            v[OUTPUT_TOKENS] = x
        x = usage.get("total_tokens")
        if type(x) is int:
            v[TOTAL_TOKENS] = x
    if status != "blocked":
        x = record.get("latency_ms")
        kind = type(x)
        if (kind is float and x - x == 0.0) or kind is int:
            v[LATENCY_N] = 1
            sample.latency = x
            sample.latency_key = _key(x)
    x = record.get("ttft_ms")
    kind = type(x)
    if (kind is float and x - x == 0.0) or kind is int:
        v[TTFT_N] = 1
        sample.ttft = x
        sample.ttft_key = _key(x)
    return sample


def verdict_sample(item: Mapping[str, Any], *, derive_passed: bool) -> Sample:
    """The sample of an evaluation or feedback object (``{name, score, passed, ...}``).

    With ``derive_passed`` (human feedback) a score without a verdict counts as passed when >= 0.5.
    """
    v = _ZEROS.copy()
    sample = Sample(v)
    v[N] = 1
    score = _number(item.get("score"))
    if score is not None:
        v[SCORE_SUM] = score
        v[SCORE_N] = 1
    passed = item.get("passed")
    if not isinstance(passed, bool) and derive_passed and score is not None:
        passed = score >= 0.5
    if isinstance(passed, bool):
        v[JUDGED] = 1
        v[FAILS] = 0 if passed else 1
    return sample


def guardrail_sample(item: Mapping[str, Any]) -> Sample:
    """The sample of a guardrail check (``{name, blocked, ...}``)."""
    v = _ZEROS.copy()
    v[N] = 1
    v[BLOCKED] = 1 if item.get("blocked") else 0
    return Sample(v)


def _add_keys(hist: LogHistogram, store: Any) -> None:
    # Fold a bucket's key store into a histogram; values are the buckets' geometric middles.
    if store is None:
        return
    items = store.items() if isinstance(store, dict) else ((key, 1) for key in store)
    for key, count in items:
        if key == _ZERO_KEY:
            hist.zeros += count
            hist.count += count
            hist.min = min(hist.min, 0.0)
            hist.max = max(hist.max, 0.0)
            continue
        hist.buckets[key] += count
        hist.count += count
        middle = math.exp((key + 0.5) * _GROWTH)
        hist.total += middle * count
        hist.min = min(hist.min, middle)
        hist.max = max(hist.max, middle)


class Baseline:
    """The values of a group's last ``n`` completed windows, with their median and robust scale.

    The scale is the median absolute deviation times 1.4826 (the standard deviation for normal
    data); when that is 0 (more than half the windows equal), the mean absolute deviation times
    1.2533; when that is 0 too (every window equal), 1 % of the median's size (at least 1e-12), so
    any clear change from a perfectly flat baseline stands out.
    """

    __slots__ = ("median", "scale", "values")

    def __init__(self, n: int) -> None:
        self.values: deque[float] = deque(maxlen=n)
        self.median = 0.0
        self.scale = 1.0

    def push(self, value: float) -> None:
        """Add one completed window's value."""
        self.values.append(value)
        ordered = sorted(self.values)
        median = _median(ordered)
        deviations = sorted(abs(x - median) for x in ordered)
        scale = 1.4826 * _median(deviations)
        if scale == 0.0:
            scale = 1.2533 * (sum(deviations) / len(deviations))
        if scale == 0.0:
            scale = max(abs(median) * 0.01, 1e-12)
        self.median, self.scale = median, scale

    def zscore(self, value: float) -> float:
        """How many robust standard deviations ``value`` is from the baseline's median."""
        return (value - self.median) / self.scale


def _median(ordered: list[float]) -> float:
    n = len(ordered)
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


class GroupWindow:
    """One group's buckets: the open one, the closed ones still inside the window, and their sum.

    Also the group's alert states (one slot per rule of the window set, ``hot`` has a bit set for
    each slot that has one, ``firing`` and ``pending`` for the slots in those phases), its run of consecutive provider-down errors, and the baselines of its
    ``.zscore`` rules.
    """

    __slots__ = (
        "baselines",
        "buckets",
        "closed",
        "cur",
        "firing",
        "first_window",
        "hot",
        "judged_at",
        "key",
        "pending",
        "states",
        "streak",
        "streak_sum",
    )

    def __init__(self, key: Any, cur: list[Any], closed: list[Any], first_window: int) -> None:
        self.key = key
        self.cur = cur
        self.closed = closed
        self.buckets: list[list[Any]] = []
        self.states: list[Any] | None = None
        self.hot = 0
        self.firing = 0
        self.pending = 0
        self.streak: list[list[int]] | None = None
        self.streak_sum = 0
        self.baselines: list[Baseline] | None = None
        self.first_window = first_window
        self.judged_at = -1

    def active(self) -> bool:
        """True while some rule has an alert pending, firing or cooling down for this group."""
        return self.hot != 0

    def quiet(self) -> bool:
        """Nothing in the window, no streak, no baseline, no alert state: safe to forget."""
        return (
            not self.buckets
            and not self.cur[1]
            and not self.streak_sum
            and self.baselines is None
            and not self.hot
        )

    def oldest(self) -> int | None:
        """The bucket number of the oldest data in the window (``None`` when empty)."""
        if self.buckets:
            return int(self.buckets[0][0])
        return int(self.cur[0]) if self.cur[1] else None


class WindowSet:
    """The windows of one population (calls, or one evaluator's results, ...), window length and
    ``by=`` dimension, for every group. Measures register what they need before :meth:`freeze`.

    :meth:`freeze` fixes the bucket layout and compiles ``judge(window)`` for this set's exact
    rules (a bit mask of the rules whose condition holds, used by the tick);
    :func:`compile_process` joins the sets' :meth:`block` code into one function per population
    that finds each record's groups, rotates them, counts the record and judges. Rules whose
    judging is not a closed-form expression (``.zscore``) are judged by their measure's method.
    The generated code contains only field positions, operators and thresholds that the rule
    parser produced (numbers and one of ``> >= < <=``), never text from a rule.
    """

    def __init__(
        self, population: str, source: str | None, window_s: float, by: str | None, max_groups: int
    ) -> None:
        self.population = population
        self.source = source
        self.window_s = window_s
        self.bucket_s = window_s / BUCKETS
        self.inv = BUCKETS / window_s
        self.by = by
        self.key_fields: tuple[str, ...] = GROUP_FIELDS[by] if by else ()
        #: The one record field of the ``by=`` dimension when it has exactly one (the fast path).
        self.key_field: str | None = self.key_fields[0] if len(self.key_fields) == 1 else None
        self.max_groups = max_groups
        self.groups: dict[Any, GroupWindow] = {}
        self.single: GroupWindow | None = None
        #: Bucket number -> groups to look at then (their oldest bucket leaves the window).
        self.due: dict[int, set[Any]] = {}
        #: Groups with an alert pending (``for=``), and groups with a rule left unjudged as records
        #: arrived (an expensive z-score): the tick judges both.
        self.pending_keys: set[Any] = set()
        self.dirty_keys: set[Any] = set()
        self.evicted = 0
        self.dropped = 0
        self.measures: list[Measure] = []
        self.complex: tuple[tuple[int, Measure], ...] = ()
        self._wanted_fields: list[int] = [N]
        self._wanted_cmps: list[tuple[int, float, bool]] = []
        self._wanted_keys: list[int] = []
        self.streak = False
        self.frozen = False
        self._cmps: tuple[tuple[int, int, float, bool], ...] = ()
        self._key_slots: tuple[tuple[int, int], ...] = ()
        self._width = 0
        self._summed = range(0)
        self._zscores: list[ZScore] = []
        self._field_pos: dict[int, int] = {}
        self._cmp_pos: dict[tuple[int, float, bool], int] = {}
        self._key_pos: dict[int, int] = {}
        self.judge: Callable[[GroupWindow], int] = _unfrozen
        self.roll: Callable[[GroupWindow, int], None] = _unfrozen

    # -- set-up ---------------------------------------------------------------------------------
    def want_field(self, field: int) -> None:
        """A measure reads this sample field."""
        if field not in self._wanted_fields:
            self._wanted_fields.append(field)

    def want_cmp(self, which: int, threshold: float, strict: bool) -> None:
        """A percentile measure counts the values ``< threshold`` (strict) or ``<= threshold``."""
        entry = (which, threshold, strict)
        if entry not in self._wanted_cmps:
            self._wanted_cmps.append(entry)

    def want_keys(self, which: int) -> None:
        """A measure needs the window's histogram of latencies (or TTFTs)."""
        if which not in self._wanted_keys:
            self._wanted_keys.append(which)

    def add_measure(self, measure: Measure) -> int:
        """Attach a measure (one per rule); returns its slot in every group's alert states."""
        if self.frozen:
            raise RuntimeError("window set is frozen")
        measure.require(self)
        self.measures.append(measure)
        if isinstance(measure, ZScore):
            measure.baseline_slot = len(self._zscores)
            self._zscores.append(measure)
        return len(self.measures) - 1

    @property
    def has_zscore(self) -> bool:
        """Some rule of this set is a ``.zscore`` rule (its groups keep baselines)."""
        return bool(self._zscores)

    def freeze(self) -> None:
        """Fix the bucket layout ``[index, fields..., threshold counts..., key stores...]`` and compile."""
        pos = 1
        for field in self._wanted_fields:
            self._field_pos[field] = pos
            pos += 1
        for entry in self._wanted_cmps:
            self._cmp_pos[entry] = pos
            pos += 1
        self._summed = range(1, pos)
        for which in self._wanted_keys:
            self._key_pos[which] = pos
            pos += 1
        self._width = pos
        self._cmps = tuple((p, w, t, s) for (w, t, s), p in self._cmp_pos.items())
        self._key_slots = tuple((p, w) for w, p in self._key_pos.items())
        self.frozen = True
        for measure in self.measures:
            measure.bind(self)
        self.complex = tuple((slot, m) for slot, m in enumerate(self.measures) if m.inline() is None)
        self._compile()

    def _checks(self, indent: str) -> list[str]:
        lines = []
        for slot, measure in enumerate(self.measures):
            expression = measure.inline()
            if expression is not None:
                lines.append(f"{indent}if {expression}: r |= {1 << slot}")
        return lines

    def _compile(self) -> None:
        judge = [
            "def judge(w):",
            "    c = w.closed",
            "    u = w.cur",
            "    r = 0",
            *self._checks("    "),
            "    return r",
        ]
        namespace: dict[str, Any] = {"_ceil": math.ceil}
        exec(compile("\n".join(judge) + "\n", "<llm_monitor_sdk.windows.judge>", "exec"), namespace)
        self.judge = namespace["judge"]
        self._compile_roll()

    def block(self, k: int) -> tuple[list[str], dict[str, Any]]:
        """Source lines (and the names they use) that count one record in this set and judge it, as
        part of :func:`compile_process` (this set is number ``k`` there)."""
        names = {
            f"INV_{k}": self.inv,
            f"FIELD_{k}": self.key_field,
            f"WS_{k}": self,
            f"GROUPS_{k}": self.groups,
            f"GROUP_{k}": self.group,
            f"ROTATE_{k}": self.roll,
            f"KEY_OF_{k}": self.key_of,
        }
        lines = [f"    # window set {k}: {self.population} {self.source or ''} {self.window_s}s by={self.by}"]
        lines.append(f"    index = int(now * INV_{k})")
        if self.by is None:
            lines += [
                f"    w = WS_{k}.single",
                "    if w is None:",
                f"        w = GROUP_{k}(None, index)",
                "    elif w.cur[0] != index:",
                f"        ROTATE_{k}(w, index)",
            ]
        else:
            if self.key_field is not None:
                lines += [
                    f"    key = record.get(FIELD_{k})",
                    "    if type(key) is not str:",
                    "        key = None if key is None else str(key)",
                    "    elif not key:",
                    "        key = None",
                ]
            else:
                lines.append(f"    key = KEY_OF_{k}(record)")
            lines += [
                f"    w = GROUPS_{k}.get(key)",
                "    if w is None or w.cur[0] != index:",
                f"        w = GROUP_{k}(key, index)",
            ]
        body = ["u = w.cur", "u[1] += 1"]
        for field, pos in self._field_pos.items():
            if field != N:
                body += [f"x = v[{field}]", f"if x: u[{pos}] += x"]
        for pos, which, threshold, strict in self._cmps:
            name = "lat" if which == LATENCY else "ttft"
            body.append(
                f"if {name} is not None and {name} {'<' if strict else '<='} {threshold!r}: u[{pos}] += 1"
            )
        for pos, which in self._key_slots:
            name = "lat" if which == LATENCY else "ttft"
            body += [
                f"if {name} is not None:",
                f"    s = u[{pos}]",
                f"    if s is None: u[{pos}] = _array('i', ({name}_key,))",
                "    elif type(s) is _array:",
                f"        s.append({name}_key)",
                f"        if len(s) > {_ARRAY_LIMIT}: u[{pos}] = _Counter(s)",
                f"    else: s[{name}_key] = s.get({name}_key, 0) + 1",
            ]
        if self.streak:
            body += [
                "if streak == 1:",
                "    t = w.streak",
                "    if t is None: w.streak = [[u[0], 1]]",
                "    elif t and t[-1][0] == u[0]: t[-1][1] += 1",
                "    else: t.append([u[0], 1])",
                "    w.streak_sum += 1",
                "elif streak == 2 and w.streak_sum:",
                "    w.streak = None",
                "    w.streak_sum = 0",
            ]
        body += ["c = w.closed", "r = 0"]
        body += [line[4:] for line in self._checks("    ")]
        # The slots worth a look: newly breached and not firing, firing and no longer breached,
        # pending (for= may have elapsed); slots cooling down are freed by the tick. Sets with
        # rules judged by a method (z-scores) are always handed back.
        body.append("t = -1" if self.complex else "t = (r ^ w.firing) | w.pending")
        body += ["if t:", "    if out is None: out = []", f"    out.append(({k}, w, r, t))"]
        lines.append("    if w is not None:")
        lines += [f"        {line}" for line in body]
        return lines, names

    def field_pos(self, field: int) -> int:
        """Position of a sample field in this set's buckets."""
        return self._field_pos[field]

    def cmp_pos(self, which: int, threshold: float, strict: bool) -> int:
        """Position of a threshold count in this set's buckets."""
        return self._cmp_pos[(which, threshold, strict)]

    def key_pos(self, which: int) -> int:
        """Position of the latency (or TTFT) key store in this set's buckets."""
        return self._key_pos[which]

    # -- per record -----------------------------------------------------------------------------
    def index(self, now: float) -> int:
        """The bucket number of a time."""
        return int(now * self.inv)

    def _new_bucket(self, index: int) -> list[Any]:
        bucket: list[Any] = [0] * self._width
        bucket[0] = index
        for pos, _ in self._key_slots:
            bucket[pos] = None
        return bucket

    def key_of(self, record: Mapping[str, Any]) -> Any:
        """The record's group under this set's ``by=`` (``None`` without one)."""
        for field in self.key_fields:
            value = record.get(field)
            if value is not None and value != "":
                return value if type(value) is str else str(value)
        return None

    def group(self, key: Any, index: int) -> GroupWindow | None:
        """The group's window, rotated to ``index`` (created, evicting another, when new)."""
        groups = self.groups
        window = groups.get(key)
        if window is None:
            if len(groups) >= self.max_groups and not self._evict():
                self.dropped += 1
                return None
            window = GroupWindow(key, self._new_bucket(index), [0] * self._width, index // BUCKETS)
            groups[key] = window
            if self.by is None:
                self.single = window
            self.schedule(key, index + BUCKETS)
            return window
        if window.cur[0] != index:
            if self.by is not None:
                # Least recently active last: refreshed once per bucket, not once per record.
                del groups[key]
                groups[key] = window
            self.roll(window, index)
        return window

    def schedule(self, key: Any, index: int) -> None:
        """Look at the group again (on the tick) once time reaches bucket ``index``."""
        due = self.due.get(index)
        if due is None:
            self.due[index] = {key}
        else:
            due.add(key)

    def forget(self, key: Any) -> None:
        """Drop a group (quiet, or evicted)."""
        window = self.groups.pop(key, None)
        self.pending_keys.discard(key)
        self.dirty_keys.discard(key)
        if window is not None and window is self.single:
            self.single = None

    def _evict(self) -> bool:
        for key, window in self.groups.items():
            if not window.hot:
                self.forget(key)
                self.evicted += 1
                return True
        return False

    def rotate(self, window: GroupWindow, index: int) -> None:
        """Close the open bucket when time moved to a later one; expire buckets that left the window."""
        self.roll(window, index)

    def _expire(self, window: GroupWindow, limit: int) -> None:
        buckets = window.buckets
        if buckets and buckets[0][0] < limit:
            count = 0
            while count < len(buckets) and buckets[count][0] < limit:
                count += 1
            if count == len(buckets):
                buckets.clear()
                window.closed = [0] * self._width
            else:
                closed = window.closed
                for bucket in buckets[:count]:
                    for pos in self._summed:
                        closed[pos] -= bucket[pos]
                del buckets[:count]
        streak = window.streak
        if streak and streak[0][0] < limit:
            while streak and streak[0][0] < limit:
                window.streak_sum -= streak.pop(0)[1]
            if not streak:
                window.streak = None
                window.streak_sum = 0

    def _compile_roll(self) -> None:
        # rotate(), unrolled for this layout: it runs about once per bucket per group.
        empty = ["0"] * self._width
        for pos, _ in self._key_slots:
            empty[pos] = "None"
        empty[0] = "index"
        lines = [
            "def roll(w, index):",
            "    cur = w.cur",
            "    old = cur[0]",
            "    if index <= old:",
            "        return",  # same bucket (or a clock that stepped back: keep counting in the open one)
            "    if cur[1]:",
            "        w.buckets.append(cur)",
            "        c = w.closed",
            *(f"        c[{pos}] += cur[{pos}]" for pos in self._summed),
            f"        w.cur = [{', '.join(empty)}]",
            "    else:",
            "        cur[0] = index",
        ]
        if self._zscores:
            lines += [
                f"    if index // {BUCKETS} != old // {BUCKETS}:",
                f"        complete(w, old // {BUCKETS}, index // {BUCKETS})",
            ]
        lines += [
            f"    limit = index - {BUCKETS - 1}",
            "    b = w.buckets",
            "    if b and b[0][0] < limit:",
            "        if len(b) > 1 and b[1][0] >= limit:",  # the usual case: exactly one bucket leaves
            "            gone = b.pop(0)",
            "            c = w.closed",
            *(f"            c[{pos}] -= gone[{pos}]" for pos in self._summed),
            "        else:",
            "            expire(w, limit)",
        ]
        if self.streak:
            lines += ["    t = w.streak", "    if t and t[0][0] < limit:", "        expire(w, limit)"]
        namespace: dict[str, Any] = {"complete": self._complete_windows, "expire": self._expire}
        exec(compile("\n".join(lines) + "\n", "<llm_monitor_sdk.windows.roll>", "exec"), namespace)
        self.roll = namespace["roll"]

    # -- reading --------------------------------------------------------------------------------
    def total(self, window: GroupWindow, pos: int) -> float:
        """A field's (or threshold count's) total over the window."""
        return window.closed[pos] + window.cur[pos]

    def histogram(self, buckets: Iterator[list[Any]] | list[list[Any]], which: int) -> LogHistogram:
        """The latency (or TTFT) histogram of some buckets."""
        pos = self._key_pos[which]
        hist = LogHistogram()
        for bucket in buckets:
            _add_keys(hist, bucket[pos])
        return hist

    def window_buckets(self, window: GroupWindow) -> list[list[Any]]:
        """The closed buckets inside the window and the open one."""
        return [*window.buckets, window.cur]

    def _complete_windows(self, window: GroupWindow, old_window: int, new_window: int) -> None:
        # Windows ``old_window .. new_window - 1`` are over: give each zscore baseline their values.
        if window.baselines is None:
            window.baselines = [Baseline(m.windows) for m in self._zscores]
        start = old_window * BUCKETS
        inside = [b for b in window.buckets if start <= b[0] < start + BUCKETS]
        totals = [0] * self._width
        for bucket in inside:
            for pos in self._summed:
                totals[pos] += bucket[pos]
        empty = [0] * self._width
        for measure, baseline in zip(self._zscores, window.baselines, strict=True):
            if old_window != window.first_window:
                value = measure.inner.window_value(self, totals, inside)
                if value is not None:
                    baseline.push(value)
            missed = min(new_window - old_window - 1, measure.windows)
            if missed > 0:
                value = measure.inner.window_value(self, empty, [])
                if value is not None:
                    for _ in range(missed):
                        baseline.push(value)


def compile_process(sets: list[WindowSet]) -> Callable[..., list[tuple[int, GroupWindow, int, int]] | None]:
    """One function that counts a record in every window set of a population and judges it:
    ``fn(record, now, values, latency, latency_key, ttft, ttft_key, streak)`` returns
    ``[(set number, group window, breached mask, slots to look at), ...]`` or ``None``.

    Generated once per engine from the sets' layouts (field positions, parsed thresholds and
    operators only), so a record costs one call however many rules there are.
    """
    lines = ["def process(record, now, v, lat, lat_key, ttft, ttft_key, streak):", "    out = None"]
    namespace: dict[str, Any] = {"_array": array, "_Counter": Counter, "_ceil": math.ceil}
    for k, windows in enumerate(sets):
        block, names = windows.block(k)
        lines += block
        namespace.update(names)
    lines.append("    return out")
    exec(compile("\n".join(lines) + "\n", "<llm_monitor_sdk.windows.process>", "exec"), namespace)
    process: Callable[..., list[tuple[int, GroupWindow, int, int]] | None] = namespace["process"]
    return process


def _unfrozen(*args: Any) -> Any:
    raise RuntimeError("window set is not frozen")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Measure:
    """How one rule's window value is computed and judged (one instance per rule)."""

    #: Judging needs a percentile computed from the histogram (done at most once per bucket).
    expensive = False

    def __init__(self, op: str, threshold: float, min_calls: int) -> None:
        if op not in _COMPARE:
            raise ValueError(f"unknown comparison {op!r}")
        self.op = op
        self.compare = _COMPARE[op]
        self.threshold = float(threshold)
        self.min_calls = min_calls

    def require(self, windows: WindowSet) -> None:
        """Tell the window set which fields this measure reads."""

    def bind(self, windows: WindowSet) -> None:
        """Look up the positions of those fields (after the layout is frozen)."""

    def inline(self) -> str | None:
        """The condition as a Python expression over ``c`` (closed totals), ``u`` (open bucket) and
        ``w`` (the group window), compiled into the window set's judge; ``None`` when it has none."""
        return None

    def value(self, windows: WindowSet, window: GroupWindow) -> float | None:
        """The value over the sliding window; ``None`` when there is too little data to judge."""
        raise NotImplementedError

    def breached(self, windows: WindowSet, window: GroupWindow) -> bool:
        """True when the rule's condition holds now (the reference for :meth:`inline`)."""
        value = self.value(windows, window)
        return value is not None and self.compare(value, self.threshold)

    def window_value(self, windows: WindowSet, totals: list[Any], buckets: list[list[Any]]) -> float | None:
        """The value of a completed window from its totals and buckets (for baselines)."""
        raise NotImplementedError

    def calls(self, windows: WindowSet, window: GroupWindow) -> int:
        """Records in the window (the alert's ``calls``)."""
        return int(windows.total(window, 1))


class Count(Measure):
    """A sum over the window (``calls``, ``cost_usd``, tokens), optionally per second."""

    def __init__(self, field: int, scale: float, op: str, threshold: float) -> None:
        super().__init__(op, threshold, 0)
        self.field = field
        self.scale = float(scale)
        self.pos = 0

    def require(self, windows: WindowSet) -> None:
        windows.want_field(self.field)

    def bind(self, windows: WindowSet) -> None:
        self.pos = windows.field_pos(self.field)

    def value_expr(self) -> tuple[str, str]:
        """``(guard, value)`` expressions: the value is defined when the guard holds."""
        p = self.pos
        return "True", f"(c[{p}] + u[{p}]) * {self.scale!r}"

    def inline(self) -> str | None:
        p = self.pos
        return f"(c[{p}] + u[{p}]) * {self.scale!r} {self.op} {self.threshold!r}"

    def value(self, windows: WindowSet, window: GroupWindow) -> float | None:
        pos = self.pos
        return (window.closed[pos] + window.cur[pos]) * self.scale

    def window_value(self, windows: WindowSet, totals: list[Any], buckets: list[list[Any]]) -> float | None:
        return totals[self.pos] * self.scale


class Ratio(Measure):
    """``numerator / denominator`` over the window, judged only with ``min_calls`` of ``gate``."""

    def __init__(
        self, numerator: int, denominator: int, gate: int, op: str, threshold: float, min_calls: int
    ) -> None:
        super().__init__(op, threshold, min_calls)
        self.fields = (numerator, denominator, gate)
        self.num = self.den = self.gate = 0

    def require(self, windows: WindowSet) -> None:
        for field in self.fields:
            windows.want_field(field)

    def bind(self, windows: WindowSet) -> None:
        self.num, self.den, self.gate = (windows.field_pos(f) for f in self.fields)

    def _guard(self) -> str:
        g, d = self.gate, self.den
        guard = f"(c[{g}] + u[{g}]) >= {self.min_calls}"
        if d != g or self.min_calls < 1:
            guard += f" and (c[{d}] + u[{d}]) > 0"
        return guard

    def value_expr(self) -> tuple[str, str]:
        """``(guard, value)`` expressions: the value is defined when the guard holds."""
        d, n = self.den, self.num
        return self._guard(), f"(c[{n}] + u[{n}]) / (c[{d}] + u[{d}])"

    def inline(self) -> str | None:
        guard, value = self.value_expr()
        return f"{guard} and {value} {self.op} {self.threshold!r}"

    def _compute(self, a: list[Any], b: list[Any]) -> float | None:
        if a[self.gate] + b[self.gate] < self.min_calls:
            return None
        den = a[self.den] + b[self.den]
        if den <= 0:
            return None
        return float((a[self.num] + b[self.num]) / den)

    def value(self, windows: WindowSet, window: GroupWindow) -> float | None:
        return self._compute(window.closed, window.cur)

    def window_value(self, windows: WindowSet, totals: list[Any], buckets: list[list[Any]]) -> float | None:
        return self._compute(totals, [0] * len(totals))

    def calls(self, windows: WindowSet, window: GroupWindow) -> int:
        return int(windows.total(window, self.gate))


class Percentile(Measure):
    """The ``quantile``-th percentile of latency (or TTFT), nearest rank, over the window.

    Judged exactly from counts of values on either side of the threshold (``p > T`` holds when
    fewer than ``ceil(n q / 100)`` values are ``<= T``; ``p >= T`` when fewer are ``< T``); the
    reported value comes from the window's log histogram (within 1 %).
    """

    def __init__(
        self,
        which: int,
        quantile: float,
        op: str,
        threshold: float,
        min_calls: int,
        *,
        judge_by_counts: bool = True,
    ) -> None:
        super().__init__(op, threshold, min_calls)
        self.which = which
        self.quantile = quantile
        self.strict = op in (">=", "<")
        self.judge_by_counts = judge_by_counts
        self.n_field = LATENCY_N if which == LATENCY else TTFT_N
        self.n_pos = self.cmp = 0

    def require(self, windows: WindowSet) -> None:
        windows.want_field(self.n_field)
        windows.want_keys(self.which)
        if self.judge_by_counts:
            windows.want_cmp(self.which, self.threshold, self.strict)

    def bind(self, windows: WindowSet) -> None:
        self.n_pos = windows.field_pos(self.n_field)
        if self.judge_by_counts:
            self.cmp = windows.cmp_pos(self.which, self.threshold, self.strict)

    def inline(self) -> str | None:
        if not self.judge_by_counts:
            return None
        n, k = self.n_pos, self.cmp
        side = "<" if self.op in (">", ">=") else ">="
        rank = f"_ceil((c[{n}] + u[{n}]) * {self.quantile / 100.0!r} - 1e-9)"
        return f"(c[{n}] + u[{n}]) >= {max(1, self.min_calls)} and (c[{k}] + u[{k}]) {side} {rank}"

    def value(self, windows: WindowSet, window: GroupWindow) -> float | None:
        n = windows.total(window, self.n_pos)
        if n < self.min_calls or not n:
            return None
        return windows.histogram(windows.window_buckets(window), self.which).percentile(self.quantile)

    def breached(self, windows: WindowSet, window: GroupWindow) -> bool:
        closed, cur = window.closed, window.cur
        n = closed[self.n_pos] + cur[self.n_pos]
        if n < self.min_calls or n <= 0:
            return False
        if not self.judge_by_counts:
            return super().breached(windows, window)
        rank = max(1, math.ceil(n * self.quantile / 100.0 - 1e-9))
        below = closed[self.cmp] + cur[self.cmp]
        if self.op in (">", ">="):
            return bool(below < rank)
        return bool(below >= rank)

    def window_value(self, windows: WindowSet, totals: list[Any], buckets: list[list[Any]]) -> float | None:
        if totals[self.n_pos] < self.min_calls or not totals[self.n_pos]:
            return None
        return windows.histogram(buckets, self.which).percentile(self.quantile)

    def calls(self, windows: WindowSet, window: GroupWindow) -> int:
        return int(windows.total(window, self.n_pos))


class Streak(Measure):
    """Consecutive calls that failed with a provider-down category, within the window."""

    def require(self, windows: WindowSet) -> None:
        windows.streak = True

    def inline(self) -> str | None:
        return f"w.streak_sum {self.op} {self.threshold!r}"

    def value(self, windows: WindowSet, window: GroupWindow) -> float | None:
        return float(window.streak_sum)


class ZScore(Measure):
    """A robust z-score of another measure's window value against the group's past windows.

    Not judged until the baseline holds ``min_windows`` completed windows.
    """

    def __init__(self, inner: Measure, windows: int, min_windows: int, op: str, threshold: float) -> None:
        super().__init__(op, threshold, inner.min_calls)
        self.inner = inner
        self.windows = windows
        self.min_windows = min_windows
        self.baseline_slot = 0
        self.expensive = inner.expensive or isinstance(inner, Percentile)

    def require(self, windows: WindowSet) -> None:
        self.inner.require(windows)

    def bind(self, windows: WindowSet) -> None:
        self.inner.bind(windows)

    def inline(self) -> str | None:
        value_expr = getattr(self.inner, "value_expr", None)
        if value_expr is None:
            return None  # a percentile: judged by value(), at most once per bucket
        guard, value = value_expr()
        b = f"w.baselines[{self.baseline_slot}]"
        return (
            f"w.baselines is not None and len({b}.values) >= {self.min_windows} and {guard}"
            f" and ({value} - {b}.median) / {b}.scale {self.op} {self.threshold!r}"
        )

    def baseline(self, window: GroupWindow) -> Baseline | None:
        """The group's baseline for this rule (``None`` before the first completed window)."""
        if window.baselines is None:
            return None
        return window.baselines[self.baseline_slot]

    def value(self, windows: WindowSet, window: GroupWindow) -> float | None:
        baseline = self.baseline(window)
        if baseline is None or len(baseline.values) < self.min_windows:
            return None
        current = self.inner.value(windows, window)
        if current is None:
            return None
        return baseline.zscore(current)

    def calls(self, windows: WindowSet, window: GroupWindow) -> int:
        return self.inner.calls(windows, window)


__all__ = [
    "BUCKETS",
    "FIELDS",
    "Baseline",
    "Count",
    "GroupWindow",
    "Measure",
    "Percentile",
    "Ratio",
    "Sample",
    "Streak",
    "WindowSet",
    "ZScore",
    "call_sample",
    "compile_process",
    "guardrail_sample",
    "verdict_sample",
]
