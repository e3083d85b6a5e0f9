"""Masking of credentials in what the SDK itself prints: log lines, CLI output and exception messages.

The SDK knows secrets of its own sinks and stores: a Redis password in ``LLM_MONITOR_BUDGET_STORE``,
``user:pass@`` and ``?token=`` in an HTTP collector URL, bearer tokens in ``LLM_MONITOR_HTTP_HEADERS``.
None of them may appear in a log line, in ``llm-monitor`` output or in an exception message. Every
place that formats such a value passes it through one of these functions first:

- :func:`mask_url` for a URL (password, token-like query and fragment values),
- :func:`mask_headers` for a header mapping (every value),
- :func:`mask_mapping_text` for ``k=v,k2=v2`` text (every value, and items that are not ``k=v``),
- :func:`mask_text` for free text that may quote URLs or ``Authorization``-style values (driver error
  messages, for instance).

They are pure, cheap string functions (no I/O, no state) and never raise: a value they cannot parse is
masked more, not less. This module imports nothing from the SDK, so any module can use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "is_sensitive_name", "mask_headers", "mask_mapping_text", "mask_text", "mask_url"]

#: What a secret is replaced by.
MASK = "***"

# A query/fragment parameter, header or ``k=v`` name containing one of these (any case) holds a secret:
# token, access_token, api_key, apikey, key, sig, signature, X-Amz-Signature, secret, password, passwd,
# pwd, auth, authorization, credential, X-Amz-Credential, session, sessionid, jwt, bearer.
_SENSITIVE_PARTS = (
    "token",
    "key",
    "sig",
    "secret",
    "pass",
    "pwd",
    "auth",
    "credential",
    "session",
    "jwt",
    "bearer",
    "cookie",
)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A URL inside free text: a scheme, then everything up to whitespace or a quote/bracket that ends it.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# ``name=value`` / ``name: value`` pairs in free text whose name is sensitive (``password=hunter2``,
# ``Authorization: Bearer abc``); the value runs to the next separator.
_PAIR_IN_TEXT = re.compile(
    r"(?P<name>[A-Za-z0-9_.-]*(?:" + "|".join(_SENSITIVE_PARTS) + r")[A-Za-z0-9_.-]*)"
    r"(?P<sep>\s*[=:]\s*)"
    r"(?P<value>(?:(?:bearer|basic|token|digest)\s+)?[^\s,;&'\"]+)",
    re.IGNORECASE,
)
# ``Bearer <token>`` / ``Basic <credentials>`` without a name in front.
_SCHEME_TOKEN = re.compile(
    r"\b(?P<scheme>bearer|basic|digest)\s+(?P<token>[A-Za-z0-9._~+/=-]{4,})", re.IGNORECASE
)
# A lone word that can only be a header name: letters and hyphens (tokens have digits or other marks).
_HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z-]{0,39}$")
_QUERY_PAIR = re.compile(r"(?P<lead>^|[&;])(?P<name>[^=&;]*)=(?P<value>[^&;]*)")


def is_sensitive_name(name: str) -> bool:
    """True when a parameter, header or setting called ``name`` holds a secret (``token``, ``api_key``,
    ``sig``, ``password``, ``Authorization``, ...)."""
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_PARTS)


def _mask_pairs(text: str) -> str:
    """``a=1&token=x`` -> ``a=1&token=***`` (the separators and the other values are kept)."""

    def replace(match: re.Match[str]) -> str:
        if match["value"] and is_sensitive_name(match["name"]):
            return f"{match['lead']}{match['name']}={MASK}"
        return match.group(0)

    return _QUERY_PAIR.sub(replace, text)


def mask_url(url: str, *, path: bool = False) -> str:
    """``url`` with its password (``user:***@``), token-like query and fragment values (``?token=***``)
    masked; with ``path=True`` the path too (webhook URLs keep their secret in the path).

    A URL with a user name but no password masks the whole user part (``***@host``): tokens are often
    passed as the user name. Text that is not a URL is returned unchanged unless it contains ``@``
    (then everything before the last ``@`` is masked).
    """
    if not isinstance(url, str):
        return url
    scheme = _SCHEME.match(url)
    if scheme is None:
        if "@" in url:
            return MASK + url[url.rindex("@") :]
        return url
    head, rest = url[: scheme.end()], url[scheme.end() :]
    # The authority ends at the first '/', '?' or '#', as urlsplit reads it. A password may hold an
    # unencoded '?', '#' or '@': the user part then ends at the last '@' before the first '/' (unless
    # what comes before that '@' looks like a query, as in ``?email=a@b.example``).
    end = len(rest)
    for sep in "/?#":
        index = rest.find(sep)
        if index != -1:
            end = min(end, index)
    slash = rest.find("/")
    at = rest.rfind("@", 0, slash if slash != -1 else len(rest))
    if at >= end and "=" in rest[:at]:
        at = rest.rfind("@", 0, end)
    if at != -1:
        userinfo, remainder = rest[:at], rest[at:]
        user, colon, _password = userinfo.partition(":")
        if "?" in user or "#" in user:
            user, colon = "", ""
        masked_user = f"{user}:{MASK}" if colon else MASK
        rest = masked_user + remainder
        at = len(masked_user)
        end = len(rest)
        for sep in "/?#":
            index = rest.find(sep, at)
            if index != -1:
                end = min(end, index)
    authority, tail = rest[:end], rest[end:]
    if not tail:
        return head + authority
    location, hash_mark, fragment = tail.partition("#")
    route, question, query = location.partition("?")
    if path and route not in ("", "/"):
        route = "/" + MASK
    if query:
        query = _mask_pairs(query)
    if fragment:
        fragment = _mask_pairs(fragment) if "=" in fragment else MASK
    return head + authority + route + question + query + hash_mark + fragment


def mask_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Every header name kept, every non-empty value replaced by :data:`MASK`."""
    if not headers:
        return {}
    return {str(name): (MASK if value not in (None, "") else "") for name, value in headers.items()}


def mask_mapping_text(text: str) -> str:
    """``k=v,k2=v2`` text with every value masked. An item that is not ``k=v`` keeps only what is
    before a ``:`` in it (``Authorization: Bearer abc`` -> ``Authorization: ***``), or itself when it is
    a lone header-like name (letters and hyphens, such as ``Authorization``), else nothing."""
    if not isinstance(text, str):
        return MASK
    items = []
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep:
            items.append(f"{key}={MASK if value.strip() else value}")
        elif ":" in item:
            name, _, rest = item.partition(":")
            items.append(f"{name}: {MASK}" if rest.strip() else item)
        elif _HEADER_NAME.match(item.strip()):
            items.append(item)
        elif item.strip():
            items.append(MASK)
        else:
            items.append(item)
    return ",".join(items)


def mask_text(text: str) -> str:
    """Free text (an exception message, a log argument) with secrets masked: URLs as :func:`mask_url`
    does, ``name=value`` / ``name: value`` pairs whose name is sensitive, and ``Bearer <token>``."""
    if not isinstance(text, str):
        text = str(text)
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text)
    lowered = text.lower()
    if ("=" in text or ":" in text) and any(part in lowered for part in _SENSITIVE_PARTS):
        text = _PAIR_IN_TEXT.sub(_mask_pair_in_text, text)
    if "bearer" in lowered or "basic" in lowered or "digest" in lowered:
        text = _SCHEME_TOKEN.sub(lambda match: f"{match['scheme']} {MASK}", text)
    return text


def _mask_pair_in_text(match: re.Match[str]) -> str:
    value, name = match["value"], match["name"]
    if value.startswith(MASK) or value.startswith("//"):  # already masked, or a URL's '://'
        return match.group(0)
    if ":" in match["sep"] and name.lower().endswith(("error", "exception", "failed")):
        return match.group(0)  # "AuthenticationError: invalid password" is a message, not a secret
    return f"{name}{match['sep']}{MASK}"
