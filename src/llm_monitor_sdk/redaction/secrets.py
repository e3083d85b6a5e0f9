"""``SECRET``: credentials in prompts, tool arguments, metadata and error messages.

Two kinds of rule, both anchored on literals so that text without them costs a few ``in`` tests:

* token rules: API keys and tokens recognisable by their prefix (``sk-``, ``AKIA``, ``ghp_``, ``eyJ``,
  ``-----BEGIN ... PRIVATE KEY``, ...); a rule's regex runs only when one of its trigger literals occurs.
* labelled rules: ``password=...``, ``"api_key": "..."``, ``Authorization: Bearer ...`` and URLs with a
  password (``postgres://user:pw@host``). Only the value is redacted; the label stays readable. The
  engine finds each label word with ``str.find`` and matches the value right after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._base import Span

_KEYISH = "A-Za-z0-9_-"

# name -> (trigger literals, pattern). The whole match is redacted.
TOKEN_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "anthropic": (("sk-ant-",), rf"sk-ant-(?:api|admin|sid)\d{{2}}-[{_KEYISH}]{{20,}}"),
    "openai": (("sk-",), rf"sk-(?:proj-|svcacct-|admin-|None-)?[{_KEYISH}]{{20,}}"),
    "stripe": (("_live_", "_test_", "whsec_"), r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}"),
    "google": (("AIza",), rf"AIza[{_KEYISH}]{{35}}"),
    "aws": (("AKIA", "ASIA", "ABIA", "ACCA"), r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![0-9A-Za-z])"),
    "github": (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), r"gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255}"),
    "gitlab": (("glpat-",), rf"glpat-[{_KEYISH}]{{20,}}"),
    "slack": (("xox", "hooks.slack.com"), r"xox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[\w/-]{20,}"),
    "jwt": (("eyJ",), rf"eyJ[{_KEYISH}]{{8,}}\.eyJ[{_KEYISH}]{{8,}}\.[{_KEYISH}]{{8,}}"),
    "pem": (
        ("-----BEGIN",),
        r"-----BEGIN[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.{0,12000}?-----END[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----|.*)",  # unterminated: to the end
    ),
}  # fmt: skip

_TOKEN_RULES = tuple(
    (name, re.compile(pattern, re.DOTALL | re.ASCII)) for name, (_, pattern) in TOKEN_RULES.items()
)
# Trigger literals grouped behind one character each: a one-character ``in`` test is a memchr, far
# cheaper than a multi-character search, and most prose lacks "_" (code has it) and "eyJ".
_GATES: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = tuple(
    (gate, tuple((t, i) for i, (triggers, _) in enumerate(TOKEN_RULES.values()) for t in triggers if gate in t))
    for gate in ("_", "-", "A", "J", "x", "hooks.slack")
)
# Generated keys mix in digits; hyphenated prose after "sk-" ("sk-learn-compatible-...") does not.
_RANDOM_BODY = frozenset({"openai", "anthropic", "gitlab", "slack"})

#: Label words whose value is a secret (matched against the whole identifier, lower-cased).
LABEL_WORDS = (
    "password", "passwd", "pwd", "passphrase", "secret", "secret_key", "api_key", "apikey", "access_key",
    "access_token", "auth_token", "refresh_token", "api_token", "session_token", "private_key",
    "client_secret", "credential", "credentials",
)  # fmt: skip
_LABEL_WORD = re.compile(
    r"(?:[a-z0-9]+[_-])*(?:password|passwd|pwd|passphrase|secret|(?:secret|api|access|private)[_-]?key"
    r"|(?:access|auth|refresh|api|session)[_-]?token|credentials?)\Z"
)
_LABEL_ROOTS = ("pass", "pwd", "secret", "key", "token", "credential")
_IDENT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_VALUE = re.compile(r"[\"']?[ \t]{0,3}(?::|=|:=|=>)[ \t]{0,3}[\"']?([^\s\"',;&}<>]{4,})")
_BEARER = re.compile(r"(?:bearer|basic)\s+([A-Za-z0-9._~+/-]{16,}=*)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"://[^\s:/@]{1,64}:([^\s@/]{1,128})@")
_PLACEHOLDERS = frozenset({"none", "null", "true", "false", "required", "optional", "string", "redacted"})


def _is_placeholder(value: str) -> bool:
    # "password: <redacted>", "api_key=None", "secret=${SECRET}" carry no secret.
    low = value.lower().strip("()[]")
    return (
        low in _PLACEHOLDERS
        or low.startswith(("${", "<", "{{", "%(", "os.environ", "env."))
        or set(low) <= {"*", "x", "."}
    )


class SecretDetector:
    """``SECRET`` detector: API keys and tokens of the major providers, JWTs, PEM keys, labelled secrets."""

    entity = "SECRET"

    def find(self, text: str) -> Iterator[Span]:
        """Yield the span of each credential value."""
        hit: set[int] = set()
        for gate, triggers in _GATES:
            if gate in text:
                for t, i in triggers:
                    if i not in hit and t in text:
                        hit.add(i)
        for i in sorted(hit):
            name, pattern = _TOKEN_RULES[i]
            for m in pattern.finditer(text):
                start = m.start()
                if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                    continue  # glued to a word: "risk-assessment-..." is not an "sk-" key
                if name in _RANDOM_BODY and not any(ch.isdigit() for ch in m.group()):
                    continue
                yield m.span()
        yield from self._labelled(text)

    def _labelled(self, text: str) -> Iterator[Span]:
        low = text.lower()
        seen: set[int] = set()
        for root in _LABEL_ROOTS:
            at = low.find(root)
            while at >= 0:
                start, end = at, at + len(root)
                while start > 0 and low[start - 1] in _IDENT:
                    start -= 1
                while end < len(low) and low[end] in _IDENT:
                    end += 1
                if start not in seen:
                    seen.add(start)
                    if _LABEL_WORD.match(low, start, end):
                        m = _VALUE.match(text, end)
                        if m is not None and not _is_placeholder(m.group(1)):
                            yield m.span(1)
                at = low.find(root, end)
        for root in ("bearer", "basic"):
            at = low.find(root)
            while at >= 0:
                m = _BEARER.match(text, at)
                # Real tokens carry digits; "bearer instrumentation" in prose does not.
                if m is not None and (root == "bearer" or text[at] == "B") and any(c.isdigit() for c in m.group(1)):
                    yield m.span(1)
                at = low.find(root, at + 1)
        at = text.find("://")
        while at >= 0:
            m = _URL_PASSWORD.match(text, at)
            if m is not None:
                yield m.span(1)
            at = text.find("://", at + 3)


__all__ = ["LABEL_WORDS", "TOKEN_RULES", "SecretDetector"]
