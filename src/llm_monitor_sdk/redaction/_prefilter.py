"""The optional compiled prefilter: one pass over a string tells which built-in detectors can match.

With the ``fast`` extra installed (``pip install -e '.[fast]'``, which brings ``hyperscan``),
every string the engine scans first goes through one Hyperscan database that holds, for each built-in
detector (and for each independent rule family of ``SECRET``), a pattern that every match of that
detector contains: a *necessary condition*. The scan answers with a bit mask of the conditions that
occur; the engine then runs only the detectors whose condition occurs, and hands ``SECRET`` the rule
families to try. Most prompts hold no candidate at all and cost one scan.

Why findings are identical to the pure-Python path: a detector is skipped only when its condition
does not occur in the string, and then the detector would have found nothing; a detector that does
run is the same Python code, on the same string, as without the prefilter. Each condition is written
to be a superset of what its detector accepts (see the comments on ``_CONDITIONS`` and
``docs/redaction.md``), and ``tests/redaction/test_prefilter.py`` checks each one against its
detector; the corpus tests run both paths and compare their findings.

The scan runs on the UTF-8 bytes of the string (Hyperscan without its UTF-8 mode: one byte, one
position). Every condition is built from ASCII classes and literals, which never match a byte of a
non-ASCII character; negated classes match such bytes, and repetitions either count ASCII characters
or are unbounded, so each condition stays a superset on any text. ``docs/redaction.md`` explains why
Hyperscan rather than RE2 or pyahocorasick (measured).

``RedactionConfig.accelerator`` chooses the path; see :func:`resolve`.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any

from .. import _forksafe

logger = logging.getLogger("llm_monitor_sdk.redaction")

#: The distribution and the extra that installs the accelerator.

EXTRA = "fast"
#: The distribution the accelerator needs.
PACKAGE = "hyperscan"

# -- the conditions -------------------------------------------------------------------------------
# Bits of the mask a scan returns. ``SECRET`` has one bit per independent rule family.
EMAIL = 1 << 0
IPV4 = 1 << 1
IPV6 = 1 << 2
CARD = 1 << 3
SSN = 1 << 4  # a dashed/spaced SSN shape
_SSN_LABELLED = 1 << 5  # "SSN: 123456789" (folded into SSN after the scan)
IBAN = 1 << 6
PHONE = 1 << 7
SECRET_DASH = 1 << 8  # token prefixes with "-": sk-, glpat-, xox?-, PEM headers
SECRET_UNDERSCORE = 1 << 9  # sk_, rk_, whsec_, github_pat_, gh?_
SECRET_AWS = 1 << 10  # AIza, AKIA, ASIA, ABIA, ACCA
SECRET_JWT = 1 << 11  # eyJ
SECRET_LABEL = 1 << 12  # a label word ending right before ":" or "="
SECRET_URL = 1 << 13  # a URL with a password, a Slack webhook
SECRET_BEARER = 1 << 14  # "earer" or "Basic"
SECRET_ANY = (
    SECRET_DASH | SECRET_UNDERSCORE | SECRET_AWS | SECRET_JWT | SECRET_LABEL | SECRET_URL | SECRET_BEARER
)
#: Every bit: what a string is given when no scan can be made (the prefilter then skips nothing).
ALL = (1 << 15) - 1

# A boundary that every candidate of a detector starts after: the start of the string or a byte
# that the detector's look-behind allows. Non-ASCII characters always pass (their UTF-8 bytes are in
# none of these ASCII classes), which keeps the condition a superset.
_PHONE_START = rb"(?:^|[^A-Za-z0-9_+@/.,$#-])"  # phone.py _CANDIDATE: (?<![\w+@/.,$€£¥#-])
_SEP = rb"[ .()/-]"  # the separators of a numeric run (_numeric._IMAGE)
_WS = rb"[\t\n\v\f\r ]"  # Python's ASCII \s

_CONDITIONS: tuple[tuple[int, bytes, bool], ...] = (
    # (bit, pattern, caseless)
    # EmailDetector: the local part ends right before "@" in one of these (never "."), and the domain
    # starts with a letter or digit.
    (EMAIL, rb"[A-Za-z0-9_%+-]@[A-Za-z0-9]", False),
    # IPv4: four groups of 1-3 ASCII digits joined by dots.
    (IPV4, rb"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]", False),
    # IPv6: the compressed form holds "::", the full form seven ":h" groups.
    (IPV6, rb"::|:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){6}", False),
    # Cards: a candidate starts after a boundary (not [\w.+-]) with four digits in a row (a single run,
    # or a first group of four) that open a network's range (validators.card_lengths: Visa 4, MC 51-55
    # and 2221-2720, Amex/JCB/Diners 34-39 and 300-305, Discover 6011/644-649/65, UnionPay 62, JCB
    # 1800/2131), and holds 13+ digits with single " "/"-" between groups.
    (
        CARD,
        rb"(?:^|[^A-Za-z0-9_.+-])(?:4[0-9]{3}|5[1-5][0-9]{2}|2[2-7][0-9]{2}|3[04-9][0-9]{2}|6011|64[4-9][0-9]"
        rb"|65[0-9]{2}|62[0-9]{2}|1800|2131)(?:[ -]?[0-9]){9}",
        False,
    ),
    # SSNs: "000-00-0000" with dashes or spaces; the labelled form is SSNDetector._labeled with its
    # ASCII \s spelled out (RE2's \s has no \v) and without the \b.
    (SSN, rb"[0-9]{3}[ -][0-9]{2}[ -][0-9]{4}", False),
    (
        _SSN_LABELLED,
        rb"(?:ssn|social" + _WS + rb"+security(?:" + _WS + rb"+(?:number|no\.?|#))?)"
        rb"[\t\n\v\f\r :#=]{1,4}[0-9]{9}",
        True,
    ),
    # IBANs: a country code and check digits after a non-alphanumeric boundary.
    (IBAN, rb"(?:^|[^A-Za-z0-9])[A-Z]{2}[0-9]{2}", False),
    # Phone numbers (phone._may_be_phone and phone_shape_ok): "+" and 8+ digits; a candidate opening
    # with a trunk "0" and 8+ digits; a "(0)" trunk marker; or, from a candidate start, one of the
    # national openings (3-3-4, 2-4-4, 2-5-4, 5-5, 1-3-3-4 groups). A candidate opening with a bare
    # run of 10 or more digits (no "+", no "0") is only ever accepted as that run alone, after a phone
    # word in the 30 characters before it with no digit in between (phone._phone_word_before): the
    # word, then up to 120 bytes without an ASCII digit (30 characters of up to 4 UTF-8 bytes).
    (
        PHONE,
        rb"\+ ?\(?[0-9](?:" + _SEP + rb"*[0-9]){7}"
        rb"|\(0\)"
        rb"|(?i:phone|tel|mobile|cell|call|text|sms|whatsapp|fax|contact|reach|dial|ring)[^0-9]*[0-9]{10}"
        rb"|" + _PHONE_START + rb"\(?(?:0(?:" + _SEP + rb"*[0-9]){7}"
        rb"|[0-9]{3}" + _SEP + rb"+[0-9]{3}" + _SEP + rb"+[0-9]{4}"
        rb"|[0-9]{2}" + _SEP + rb"+[0-9]{4,5}" + _SEP + rb"+[0-9]{4}"
        rb"|[0-9]{5}" + _SEP + rb"+[0-9]{5}"
        rb"|[0-9]" + _SEP + rb"+[0-9]{3}" + _SEP + rb"+[0-9]{3}" + _SEP + rb"+[0-9]{4})",
        False,
    ),
    # SECRET token rules, by the anchor the pure detector walks (secrets._ANCHORED) or the literal
    # its regex starts with.
    (SECRET_DASH, rb"sk-|glpat-|xox[abposr]-|-----BEGIN", False),
    (SECRET_UNDERSCORE, rb"sk_|rk_|whsec_|github_pat_|gh[pousr]_", False),
    (SECRET_AWS, rb"AIza|A(?:KIA|SIA|BIA|CCA)", False),
    (SECRET_JWT, rb"eyJ", False),
    # Labelled values: the identifier before ":"/"=" (quotes and blanks skipped) ends in a label word
    # ending (secrets._LABEL_ENDINGS); the identifier is ASCII, so the ending is too.
    (
        SECRET_LABEL,
        rb"(?:password|passwd|pwd|passphrase|secret|key|token|credentials?)[ \t\"']*[:=]",
        True,
    ),
    # URLs: "scheme://user:password@" (repetition bounds dropped: a superset) or a Slack webhook.
    (SECRET_URL, rb"://[^\s:/@]+:[^\s@/]+@|://hooks\.slack\.com/", False),
    # Bearer and Basic tokens: the pure detector's own gate.
    (SECRET_BEARER, rb"earer|Basic", False),
)


class Prefilter:
    """A scratch space for the shared Hyperscan database of the conditions above.

    ``scan(text)`` returns the bit mask of the conditions found in ``text``, or ``ALL`` (nothing is
    skipped) when the scan fails. Not thread-safe: one per redactor, used from the export worker.
    After ``os.fork()`` the child gets a fresh scratch space: another thread of the parent may have
    been scanning with this one, and Hyperscan marks a scratch space in use for the length of a scan.
    """

    __slots__ = ("__weakref__", "_database", "_hs", "_scratch")

    def __init__(self, hs: Any, database: Any) -> None:
        self._hs = hs
        self._database = database
        self._scratch = hs.Scratch(database)
        _live.add(self)

    def scan(self, text: str) -> int:
        """The conditions that occur in ``text``, as a bit mask."""
        found: list[int] = []
        try:
            self._database.scan(
                text.encode("utf-8", "surrogatepass"),
                match_event_handler=_collect,
                context=found,
                scratch=self._scratch,
            )
        except Exception:
            # A scratch space left in use (a fork during a scan) or any other failure: a fresh
            # scratch space for the next string, and nothing skipped for this one.
            self.reset()
            return ALL
        mask = 0
        for bit in found:
            mask |= bit
        if mask & _SSN_LABELLED:
            mask |= SSN
        return mask

    def reset(self) -> None:
        """Replace the scratch space (in a forked child, or after a failed scan)."""
        try:
            self._scratch = self._hs.Scratch(self._database)
        except Exception:  # keep the old one: a failing scan returns ALL
            logger.debug("the redaction prefilter could not allocate a scratch space", exc_info=True)


def _collect(bit: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(bit)


def _compile(hs: Any) -> Any:
    database = hs.Database(mode=hs.HS_MODE_BLOCK)
    database.compile(
        expressions=[pattern for _, pattern, _ in _CONDITIONS],
        # The id Hyperscan reports is the condition's bit itself: no lookup per match.
        ids=[bit for bit, _, _ in _CONDITIONS],
        elements=len(_CONDITIONS),
        # One report per condition and string: a condition either occurs or not.
        flags=[
            hs.HS_FLAG_SINGLEMATCH | (hs.HS_FLAG_CASELESS if caseless else 0)
            for _, _, caseless in _CONDITIONS
        ],
    )
    return database


_live: weakref.WeakSet[Prefilter] = weakref.WeakSet()
_load_lock = threading.Lock()
_module: Any = None  # the imported hyperscan module, False when it is missing
_database: Any = None  # the compiled conditions (~0.1 s: once per process), False when that failed


def _import() -> Any:
    global _module
    if _module is None:
        with _forksafe.critical(), _load_lock:
            if _module is None:
                try:
                    import hyperscan
                except Exception:  # ImportError, or a CPU or native library it cannot use
                    _module = False
                else:
                    _module = hyperscan
    return _module


def available() -> bool:
    """True when the accelerator can be imported."""
    return bool(_import())


def install_hint() -> str:
    """The command that installs the accelerator (built in one place: the distribution may be renamed)."""
    from .._install import install_hint as hint

    return hint(EXTRA)


def resolve(setting: bool | None) -> bool:
    """Whether to use the accelerator: ``RedactionConfig.accelerator``, where ``True`` requires it,
    ``False`` forces the pure path and ``None`` uses it when it is installed.

    Raises:
        ValueError: the accelerator is required but not installed.
    """
    if setting is None:
        return available()
    if not setting:
        return False
    if not available():
        raise ValueError(
            f"redact.accelerator: the redaction accelerator needs the {PACKAGE!r} package: {install_hint()}"
        )
    return True


def build() -> Prefilter | None:
    """A prefilter (the shared database is compiled on the first call, on the export worker), or
    ``None`` when the accelerator is missing or cannot be compiled (logged; the pure path runs)."""
    global _database
    hs = _import()
    if not hs:
        return None
    if _database is None:
        # A fork waits for the compile: Hyperscan's compiler is native code that a fork must not cut.
        with _forksafe.critical(), _load_lock:
            if _database is None:
                try:
                    _database = _compile(hs)
                except Exception:
                    _database = False
                    logger.warning(
                        "the redaction accelerator could not be compiled; using the pure path", exc_info=True
                    )
    if not _database:
        return None
    try:
        return Prefilter(hs, _database)
    except Exception:
        logger.warning("the redaction accelerator could not allocate a scratch space; using the pure path",
                       exc_info=True)  # fmt: skip
        return None


def _after_fork() -> None:
    # The child has one thread: a lock another thread of the parent held is held forever, and a
    # scratch space another thread was scanning with stays marked in use. Fresh ones.
    global _load_lock
    _load_lock = threading.Lock()
    for prefilter in list(_live):
        prefilter.reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

__all__ = ["ALL", "EXTRA", "PACKAGE", "Prefilter", "available", "build", "install_hint", "resolve"]
