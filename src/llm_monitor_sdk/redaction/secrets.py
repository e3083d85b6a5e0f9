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

from ._base import Span, ascii_lower
from ._prefilter import (
    SECRET_ANY,
    SECRET_AWS,
    SECRET_BEARER,
    SECRET_DASH,
    SECRET_JWT,
    SECRET_LABEL,
    SECRET_UNDERSCORE,
    SECRET_URL,
)

_KEYISH = "A-Za-z0-9_-"

# name -> (literal prefix, pattern). Every match starts with its prefix; the whole match is redacted.
TOKEN_RULES: dict[str, tuple[str, str]] = {
    "openai_anthropic": (
        "sk-",
        rf"sk-(?:ant-(?:api|admin|sid)\d{{2}}-|proj-|svcacct-|admin-)?[{_KEYISH}]{{20,}}",
    ),
    "gitlab": ("glpat-", rf"glpat-[{_KEYISH}]{{20,}}"),
    "slack_token": ("xox", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    "pem": (
        "-----BEGIN",
        r"-----BEGIN[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.{0,12000}?-----END[A-Z ]{0,30} PRIVATE KEY(?: BLOCK)?-----|.*)",  # unterminated: to the end
    ),
    "stripe_secret": ("sk_", r"sk_(?:live|test)_[A-Za-z0-9]{16,}"),
    "stripe_restricted": ("rk_", r"rk_(?:live|test)_[A-Za-z0-9]{16,}"),
    "stripe_webhook": ("whsec_", r"whsec_[A-Za-z0-9]{24,}"),
    "github": ("gh", r"gh(?:[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_\w{22,255})"),
    "google_aws": ("A", rf"A(?:Iza[{_KEYISH}]{{35}}|(?:KIA|SIA|BIA|CCA)[0-9A-Z]{{16}}(?![0-9A-Za-z]))"),
    "jwt": ("eyJ", rf"eyJ[{_KEYISH}]{{8,}}\.eyJ[{_KEYISH}]{{8,}}\.[{_KEYISH}]{{8,}}"),
    "slack_webhook": ("hooks.slack.com", r"hooks\.slack\.com/services/[\w/-]{20,}"),
}

_COMPILED = {name: re.compile(pattern, re.DOTALL | re.ASCII) for name, (_, pattern) in TOKEN_RULES.items()}
# Most prefixes hold "-" or "_" at a fixed offset. Those rules are found by walking the (few)
# occurrences of that one character, a memchr each, instead of one regex pass per rule. The two
# characters before an anchor name the only rule that can start there: ``(prefix, offset of the
# anchor in it, rule)``. A PEM header ("-----BEGIN") is checked at each "-" as well.
_ANCHORED: dict[str, dict[str, tuple[str, int, str]]] = {
    "-": {"sk": ("sk-", 2, "openai_anthropic"), "at": ("glpat-", 5, "gitlab"),
          **{"x" + c: ("xox", 4, "slack_token") for c in "abposr"}},
    "_": {"sk": ("sk_", 2, "stripe_secret"), "rk": ("rk_", 2, "stripe_restricted"),
          "ec": ("whsec_", 5, "stripe_webhook"), "ub": ("github_pat_", 6, "github"),
          **{"h" + c: ("gh", 3, "github") for c in "pousr"}},
}  # fmt: skip
_FALLBACK = {"-": ("openai_anthropic", "gitlab", "slack_token", "pem"),
             "_": ("stripe_secret", "stripe_restricted", "stripe_webhook", "github")}  # fmt: skip
_SHORTEST_TOKEN = 15  # "xoxb-" and ten characters; every other token rule needs more
_ANCHOR_LIMIT = (
    64  # past this many anchors (a markdown table, snake_case code) one regex pass per rule is cheaper
)
# Google/AWS and JWT rules run as one regex pass each when "A" / "eyJ" occur; Slack webhooks are
# looked for at each "://" (they are always URLs).
_GOOGLE_AWS = _COMPILED["google_aws"]
# Generated keys mix in digits; hyphenated prose after "sk-" ("sk-learn-compatible-...") does not.
_RANDOM_BODY = frozenset({"openai_anthropic", "slack_token"})

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
_LABEL_ENDINGS = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "key",
    "token",
    "credential",
    "credentials",
)
_LABEL_LAST = frozenset("dDeEtTyYnNlLsS")  # the last letters of _LABEL_ENDINGS, either case
_IDENT_ANY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_VALUE = re.compile(r"[\"']?[ \t]{0,3}(?::|=|:=|=>)[ \t]{0,3}[\"']?([^\s\"',;&}<>]{4,})")
_BEARER = re.compile(r"(?:bearer|basic)\s+([A-Za-z0-9._~+/-]{16,}=*)", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?\Z")
_URL_PASSWORD = re.compile(r"://[^\s:/@]{1,64}:([^\s@/]{1,128})@")
# The families that _labelled looks for: assignments, URLs, Bearer/Basic tokens.
_ASSIGNMENTS = SECRET_LABEL | SECRET_URL | SECRET_BEARER
_PLACEHOLDERS = frozenset({"none", "null", "true", "false", "required", "optional", "string", "redacted"})


def _token_ok(text: str, name: str, m: re.Match[str]) -> bool:
    start = m.start()
    if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return False  # glued to a word: "risk-assessment-..." is not an "sk-" key
    return name not in _RANDOM_BODY or any(ch.isdigit() for ch in m.group())


def _accepted(text: str, name: str, matches: Iterator[re.Match[str]], found: list[Span]) -> None:
    for m in matches:
        if _token_ok(text, name, m):
            found.append(m.span())


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

    def find(self, text: str) -> list[Span]:
        """The span of each credential value."""
        return self.find_parts(text, SECRET_ANY)

    def find_parts(self, text: str, parts: int) -> list[Span]:
        """The spans :meth:`find` returns, trying only the rule families in ``parts`` (bits of
        ``_prefilter``: the compiled prefilter passes the families whose literals occur in ``text``).

        The families are independent: each one's spans depend only on the text, so leaving out a
        family whose literal is absent changes nothing.
        """
        # Built as a list rather than yielded: most strings hold nothing, and a generator per string
        # costs more than the checks themselves.
        found: list[Span] = []
        if len(text) < _SHORTEST_TOKEN:
            # Dates, ids and tags in metadata and tool arguments: only an assignment fits.
            if parts & _ASSIGNMENTS and (":" in text or "=" in text):
                self._labelled(text, found, parts)
            return found
        for anchor, rules in _ANCHORED.items():
            if not parts & (SECRET_DASH if anchor == "-" else SECRET_UNDERSCORE):
                continue
            at = text.find(anchor)
            resume = seen = 0
            while at >= 0:
                seen += 1
                if seen > _ANCHOR_LIMIT:
                    # A markdown table or snake_case code: one regex pass per rule from here on.
                    for name in _FALLBACK[anchor]:
                        if TOKEN_RULES[name][0] in text:
                            _accepted(text, name, _COMPILED[name].finditer(text, max(resume, at - 16)), found)
                    break
                m = None
                rule = rules.get(text[at - 2 : at])
                if rule is not None:
                    prefix, offset, name = rule
                    start = at - offset
                    if start >= resume and text.startswith(prefix, start):
                        m = _COMPILED[name].match(text, start)
                        if m is not None and not _token_ok(text, name, m):
                            m = None
                if m is None and anchor == "-" and at >= resume and text.startswith("-----BEGIN", at):
                    m = _COMPILED["pem"].match(text, at)
                if m is not None:
                    resume = m.end()
                    found.append(m.span())
                at = text.find(anchor, max(at + 1, resume))
        if parts & SECRET_AWS and "A" in text:
            # The pattern starts with the literal "A", so the regex engine skips from "A" to "A" in C.
            _accepted(text, "google_aws", _GOOGLE_AWS.finditer(text), found)
        if parts & SECRET_JWT and "J" in text and "eyJ" in text:
            _accepted(text, "jwt", _COMPILED["jwt"].finditer(text), found)
        if parts & _ASSIGNMENTS:
            self._labelled(text, found, parts)
        return found

    def _labelled(self, text: str, found: list[Span], parts: int = SECRET_ANY) -> None:
        if not parts & (SECRET_LABEL | SECRET_URL):
            if parts & SECRET_BEARER:
                self._bearer(text, found)
            return
        # Assignments are found from their separator: for each ":" or "=" look at the identifier just
        # before it. Prompts hold few separators, so this beats searching for every label word. The
        # colons also lead to URLs ("://"), checked for a password or a Slack webhook on the way.
        urls, labels = parts & SECRET_URL, parts & SECRET_LABEL
        for sep in (":", "=") if labels else (":",):
            at = text.find(sep)
            while at >= 0:
                if urls and sep == ":" and text.startswith("//", at + 1):
                    m = _URL_PASSWORD.match(text, at)
                    if m is not None:
                        found.append(m.span(1))
                    elif text.startswith("hooks.slack.com/", at + 3):
                        hook = _COMPILED["slack_webhook"].match(text, at + 3)
                        if hook is not None:
                            found.append(hook.span())
                if not labels:
                    at = text.find(sep, at + 1)
                    continue
                end = at
                while end > 0 and text[end - 1] in " \t\"'":
                    end -= 1
                # Every label word ends in one of these: most separators are rejected on one character
                # or one slice.
                if text[end - 1 : end] not in _LABEL_LAST or not text[
                    max(0, end - 10) : end
                ].lower().endswith(_LABEL_ENDINGS):
                    at = text.find(sep, at + 1)
                    continue
                start = end
                while start > 0 and text[start - 1] in _IDENT_ANY:
                    start -= 1
                if end - start >= 3 and _LABEL_WORD.match(text[start:end].lower()):
                    m = _VALUE.match(text, end)
                    if m is not None and not _is_placeholder(m.group(1)):
                        found.append(m.span(1))
                at = text.find(sep, at + 1)
        if parts & SECRET_BEARER:
            self._bearer(text, found)

    def _bearer(self, text: str, found: list[Span]) -> None:
        # "BEARER" in capitals is not looked for: the check is a cost on every string.
        if "earer" not in text and "Basic" not in text:
            return
        low = ascii_lower(text)
        for root in ("bearer", "basic"):
            at = low.find(root)
            while at >= 0:
                m = _BEARER.match(text, at)
                # Real tokens carry digits; "bearer instrumentation" in prose does not. After an
                # "Authorization:" header any token counts, digits or not.
                if (
                    m is not None
                    and (root == "bearer" or text[at] == "B")
                    and (
                        any(c.isdigit() for c in m.group(1)) or _AUTH_HEADER.search(text, max(0, at - 24), at)
                    )
                ):
                    found.append(m.span(1))
                at = low.find(root, at + 1)


__all__ = ["LABEL_WORDS", "TOKEN_RULES", "SecretDetector"]
