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

# name -> (gate, pattern). Each pattern starts with a literal, so the regex engine jumps from one
# occurrence of it to the next; a rule runs only when its one-character gate occurs in the text
# (a one-character ``in`` test is a memchr). The whole match is redacted.
TOKEN_RULES: dict[str, tuple[str, str]] = {
    "openai_anthropic": ("-", rf"sk-(?:ant-(?:api|admin|sid)\d{{2}}-|proj-|svcacct-|admin-)?[{_KEYISH}]{{20,}}"),
    "stripe_secret": ("_", r"sk_(?:live|test)_[A-Za-z0-9]{16,}"),
    "stripe_restricted": ("_", r"rk_(?:live|test)_[A-Za-z0-9]{16,}"),
    "stripe_webhook": ("_", r"whsec_[A-Za-z0-9]{24,}"),
    "google_aws": ("A", rf"A(?:Iza[{_KEYISH}]{{35}}|(?:KIA|SIA|BIA|CCA)[0-9A-Z]{{16}}(?![0-9A-Za-z]))"),
    "github": ("_", r"gh(?:[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_\w{22,255})"),
    "gitlab": ("-", rf"glpat-[{_KEYISH}]{{20,}}"),
    "slack_token": ("-", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    "slack_webhook": ("/", r"hooks\.slack\.com/services/[\w/-]{20,}"),
    "jwt": ("J", rf"eyJ[{_KEYISH}]{{8,}}\.eyJ[{_KEYISH}]{{8,}}\.[{_KEYISH}]{{8,}}"),
    "pem": (
        "-",
        r"-----BEGIN[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.{0,12000}?-----END[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----|.*)",  # unterminated: to the end
    ),
}

_TOKEN_RULES = tuple(
    (name, gate, re.compile(pattern, re.DOTALL | re.ASCII)) for name, (gate, pattern) in TOKEN_RULES.items()
)
# Generated keys mix in digits; hyphenated prose after "sk-" ("sk-learn-compatible-...") does not.
_RANDOM_BODY = frozenset({"openai_anthropic", "slack_token"})
_GATE_CHARS = tuple({gate for gate, _ in TOKEN_RULES.values()})

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
_IDENT_ANY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
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
        gates = {gate: gate in text for gate in _GATE_CHARS}
        for name, gate, pattern in _TOKEN_RULES:
            if not gates[gate]:
                continue
            for m in pattern.finditer(text):
                start = m.start()
                if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                    continue  # glued to a word: "risk-assessment-..." is not an "sk-" key
                if name in _RANDOM_BODY and not any(ch.isdigit() for ch in m.group()):
                    continue
                yield m.span()
        yield from self._labelled(text)

    def _labelled(self, text: str) -> Iterator[Span]:
        # Assignments are found from their separator: for each ":" or "=" look at the identifier just
        # before it. Prompts hold few separators, so this beats searching for every label word.
        for sep in (":", "="):
            at = text.find(sep)
            while at >= 0:
                end = at
                while end > 0 and text[end - 1] in " \t\"'":
                    end -= 1
                start = end
                while start > 0 and text[start - 1] in _IDENT_ANY:
                    start -= 1
                if end - start >= 3 and _LABEL_WORD.match(text[start:end].lower()):
                    m = _VALUE.match(text, end)
                    if m is not None and not _is_placeholder(m.group(1)):
                        yield m.span(1)
                at = text.find(sep, at + 1)
        at = text.find("://")
        while at >= 0:
            m = _URL_PASSWORD.match(text, at)
            if m is not None:
                yield m.span(1)
            at = text.find("://", at + 3)
        if "earer" not in text and "EARER" not in text and "Basic" not in text:
            return
        low = text.lower()
        for root in ("bearer", "basic"):
            at = low.find(root)
            while at >= 0:
                m = _BEARER.match(text, at)
                # Real tokens carry digits; "bearer instrumentation" in prose does not.
                if m is not None and (root == "bearer" or text[at] == "B") and any(c.isdigit() for c in m.group(1)):
                    yield m.span(1)
                at = low.find(root, at + 1)


__all__ = ["LABEL_WORDS", "TOKEN_RULES", "SecretDetector"]
