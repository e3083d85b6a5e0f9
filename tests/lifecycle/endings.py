"""Every way a stream can end, written once for sync and once for async streams.

Each ending opens the stream itself (so that it holds the only reference and "drop" really drops
it), calls ``probe()`` while the stream is still live (at least once), ends it, calls ``ended()``
right after the ending step (while it still holds the stream, where the ending keeps one), and
reports what the user saw as a :class:`Seen`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lifecycle_support import PIECES, TEXT, Driver

#: ending -> (text the user receives, whether the stream completes, whether the transport fails)
ENDINGS: dict[str, tuple[str, bool, bool]] = {
    "exhausted": (TEXT, True, False),
    "break_drop": (PIECES[0], False, False),
    "close": (PIECES[0], False, False),
    "with_exit": (PIECES[0], False, False),
    "with_exhausted": (TEXT, True, False),
    "gc": (PIECES[0], False, False),
    "error_mid": ("".join(PIECES[:2]), False, True),
    "error_first": ("", False, True),
    "error_after_opening": ("", False, True),
    "never_closed": ("", False, False),
    "never_collected": ("", False, False),
}
#: Endings in which the garbage collector (reference counting or the cycle collector) finishes the call.
COLLECTED = frozenset({"break_drop", "gc", "never_collected"})
#: Endings that close the provider's stream through our proxy.
CLOSING = frozenset({"close", "with_exit", "with_exhausted", "never_closed"})


@dataclass
class Seen:
    """What the user got: the text of every chunk, the exception raised, whether the stream closed."""

    texts: list[str] = field(default_factory=list)
    error: BaseException | None = None
    closed: bool | None = None

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _cut(driver: Driver, ending: str) -> None:
    if ending == "error_mid":
        driver.cut(driver.cut_mid)
    elif ending == "error_first":
        driver.cut(0)
    elif ending == "error_after_opening":
        driver.cut(driver.opening_events)


# -- sync --------------------------------------------------------------------------------------------
def _first_content(driver: Driver, stream: Any, seen: Seen) -> None:
    for chunk in stream:
        seen.texts.append(driver.text(chunk))
        if seen.texts[-1]:
            return
    raise AssertionError("the stream ended before any content")


def _drain(driver: Driver, stream: Any, seen: Seen) -> None:
    for chunk in stream:
        seen.texts.append(driver.text(chunk))


def run_sync(driver: Driver, ending: str, probe: Callable[[], None], ended: Callable[[], None]) -> Seen:
    """End a sync stream of ``driver`` the way ``ending`` says."""
    seen = Seen()
    _cut(driver, ending)
    stream = driver.open()
    if ending.startswith("error"):
        probe()
        try:
            _drain(driver, stream, seen)
        except Exception as exc:
            seen.error = exc
        else:
            raise AssertionError("the cut stream did not raise")
    elif ending == "never_closed":
        probe()
        stream.close()
        seen.closed = driver.closed(stream)
    elif ending == "never_collected":
        probe()
        del stream
        gc.collect()
    elif ending in ("with_exit", "with_exhausted"):
        with stream as entered:
            assert entered is stream  # the watched stream, not the SDK's own
            _first_content(driver, stream, seen)
            probe()
            if ending == "with_exhausted":
                _drain(driver, stream, seen)
        seen.closed = driver.closed(stream)
    elif ending == "break_drop":
        for chunk in stream:
            seen.texts.append(driver.text(chunk))
            if seen.texts[-1]:
                break
        probe()
        del stream  # reference counting alone must finish the call: no gc.collect()
    else:
        _first_content(driver, stream, seen)
        probe()
        if ending == "exhausted":
            _drain(driver, stream, seen)
        elif ending == "close":
            stream.close()
            stream.close()  # twice: still one record
            seen.closed = driver.closed(stream)
        elif ending == "gc":
            # Only the collector can free a stream left in a reference cycle.
            holder: list[Any] = [stream]
            holder.append(holder)
            gc.disable()
            try:
                del stream, holder
                probe()  # unreachable but not yet collected: still live
            finally:
                gc.enable()
            gc.collect()
        else:  # pragma: no cover - a typo in ENDINGS
            raise AssertionError(ending)
    ended()  # ``stream`` is still referenced here unless the ending dropped it
    return seen


# -- async -------------------------------------------------------------------------------------------
async def _afirst_content(driver: Driver, stream: Any, seen: Seen) -> None:
    async for chunk in stream:
        seen.texts.append(driver.text(chunk))
        if seen.texts[-1]:
            return
    raise AssertionError("the stream ended before any content")


async def _adrain(driver: Driver, stream: Any, seen: Seen) -> None:
    async for chunk in stream:
        seen.texts.append(driver.text(chunk))


async def _aclose_all(stream: Any) -> None:
    """Every close coroutine the SDK's stream class offers (``close``, ``aclose``), in turn."""
    names = [name for name in ("aclose", "close") if hasattr(stream.__class__, name)]
    assert names, f"{stream.__class__} has no close coroutine"
    for name in names:
        await getattr(stream, name)()
    await getattr(stream, names[0])()  # and once more: still one record


async def run_async(
    driver: Driver, ending: str, probe: Callable[[], None], ended: Callable[[], None]
) -> Seen:
    """End an async stream of ``driver`` the way ``ending`` says."""
    seen = Seen()
    _cut(driver, ending)
    stream = await driver.aopen()
    if ending.startswith("error"):
        probe()
        try:
            await _adrain(driver, stream, seen)
        except Exception as exc:
            seen.error = exc
        else:
            raise AssertionError("the cut stream did not raise")
    elif ending == "never_closed":
        probe()
        await _aclose_all(stream)
        seen.closed = driver.closed(stream)
    elif ending == "never_collected":
        probe()
        del stream
        gc.collect()
    elif ending in ("with_exit", "with_exhausted"):
        async with stream as entered:
            assert entered is stream
            await _afirst_content(driver, stream, seen)
            probe()
            if ending == "with_exhausted":
                await _adrain(driver, stream, seen)
        seen.closed = driver.closed(stream)
    elif ending == "break_drop":
        async for chunk in stream:
            seen.texts.append(driver.text(chunk))
            if seen.texts[-1]:
                break
        probe()
        del stream
    else:
        await _afirst_content(driver, stream, seen)
        probe()
        if ending == "exhausted":
            await _adrain(driver, stream, seen)
        elif ending == "close":
            await _aclose_all(stream)
            seen.closed = driver.closed(stream)
        elif ending == "gc":
            holder: list[Any] = [stream]
            holder.append(holder)
            gc.disable()
            try:
                del stream, holder
                probe()
            finally:
                gc.enable()
            gc.collect()
        else:  # pragma: no cover
            raise AssertionError(ending)
    ended()
    return seen
