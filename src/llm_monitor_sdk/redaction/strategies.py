"""What replaces a match: ``mask``, ``hash``, ``partial`` or ``drop``.

* ``mask`` (default): ``<EMAIL_ADDRESS_1>``; numbered per record, the same value always gets the same
  number within one record so that a conversation stays readable.
* ``hash``: ``<EMAIL_ADDRESS:5f1c0a9e3b2d>``, the first 12 hex digits of HMAC-SHA256(key, value); stable
  across records and processes that share the key, so analytics can still group by it.
* ``partial``: keeps a little of the value: the last 4 digits of a card, IBAN, SSN or phone number, the
  first letter and the domain of an email, the first two octets of an IPv4 address, the first 4
  characters of a secret. Every other letter or digit becomes ``*``.
* ``drop``: the whole string that contained the match is replaced by ``<DROPPED:EMAIL_ADDRESS>``.

Values are normalised before numbering and hashing (emails lower-cased, numbers reduced to their
digits), so ``Jo@X.io`` and ``jo@x.io`` or ``4111 1111 1111 1111`` and ``4111-1111-1111-1111`` match.
"""

from __future__ import annotations

import hashlib
import hmac
import re

STRATEGIES = ("mask", "hash", "partial", "drop")
DEFAULT_STRATEGY = "mask"
HASH_HEX_CHARS = 12

_DIGIT_ENTITIES = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "US_SSN"})
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def normalize(entity: str, value: str) -> str:
    """The form of ``value`` that numbering and hashing use."""
    if entity == "EMAIL_ADDRESS":
        return value.lower()
    if entity in _DIGIT_ENTITIES:
        return "".join(ch for ch in value if ch.isdigit())
    if entity == "IBAN_CODE":
        return _NON_ALNUM.sub("", value).upper()
    if entity == "IP_ADDRESS":
        return value.lower()
    return value


def keyed_hash(key: bytes, value: str) -> str:
    """Short hex HMAC-SHA256 of ``value`` under ``key``."""
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def _star_alnum(text: str) -> str:
    return "".join("*" if ch.isalnum() else ch for ch in text)


def _keep_last_alnum(value: str, keep: int) -> str:
    # Walk from the end so separators ("4111 1111 ...") keep their places.
    out: list[str] = []
    kept = 0
    for ch in reversed(value):
        if ch.isalnum() and kept < keep:
            out.append(ch)
            kept += 1
        else:
            out.append("*" if ch.isalnum() else ch)
    return "".join(reversed(out))


def partial(entity: str, value: str) -> str:
    """The ``partial`` replacement of ``value`` (see the module docstring)."""
    if entity == "EMAIL_ADDRESS":
        local, _, domain = value.rpartition("@")
        return (local[:1] + "***@" + domain) if local else "***"
    if entity == "IP_ADDRESS":
        if "." in value and ":" not in value:
            octets = value.split(".")
            return ".".join(octets[:2] + ["*"] * (len(octets) - 2))
        head = value.split(":", 1)[0]
        return f"{head}:****"
    if entity == "SECRET":
        return value[:4] + "****" if len(value) >= 12 else "****"
    if entity in _DIGIT_ENTITIES or entity == "IBAN_CODE" or len(value) >= 8:
        return _keep_last_alnum(value, 4)
    return _star_alnum(value)


def dropped(entities: list[str]) -> str:
    """What a string becomes under ``drop``: it names the types it held, never their values."""
    return "<DROPPED:" + ",".join(sorted(set(entities))) + ">"


__all__ = [
    "DEFAULT_STRATEGY",
    "HASH_HEX_CHARS",
    "STRATEGIES",
    "dropped",
    "keyed_hash",
    "normalize",
    "partial",
]
