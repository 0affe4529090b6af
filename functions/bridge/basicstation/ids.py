"""Gateway identities as Basics Station writes them: an EUI-64 as an integer, as hex with or without
dashes ("01-23-45-67-89-AB-CD-EF"), or as ID6 ("1:2:3:4", "::1", four 16-bit groups like IPv6 with
`::` for zeros). Our one text form is 16 lower-case hex digits (Basics Station docs, Glossary: ID6)."""

from __future__ import annotations

import re

_HEX_EUI = re.compile(r"^[0-9a-fA-F]{2}(-?[0-9a-fA-F]{2}){7}$")
_GROUP = re.compile(r"^[0-9a-fA-F]{1,4}$")


class InvalidIdentity(ValueError):
    """Not an EUI-64 in any form Basics Station uses."""


def _id6(text: str) -> int:
    if text.count("::") > 1:
        raise InvalidIdentity(f"not an ID6: {text!r}")
    if "::" in text:
        head, tail = text.split("::")
        left = head.split(":") if head else []
        right = tail.split(":") if tail else []
        if len(left) + len(right) > 3:
            raise InvalidIdentity(f"not an ID6: {text!r}")
        groups = [*left, *(["0"] * (4 - len(left) - len(right))), *right]
    else:
        groups = text.split(":")
    if len(groups) != 4 or not all(_GROUP.match(g) for g in groups):
        raise InvalidIdentity(f"not an ID6: {text!r}")
    value = 0
    for group in groups:
        value = value << 16 | int(group, 16)
    return value


def parse_eui(value: object) -> str:
    """Any of Basics Station's forms -> 16 lower-case hex digits."""
    if isinstance(value, bool):
        raise InvalidIdentity(f"not an EUI: {value!r}")
    if isinstance(value, int):
        if not 0 <= value < 1 << 64:
            raise InvalidIdentity(f"EUI out of range: {value}")
        return f"{value:016x}"
    if not isinstance(value, str):
        raise InvalidIdentity(f"not an EUI: {value!r}")
    if _HEX_EUI.match(value):
        return value.replace("-", "").lower()
    if ":" in value:
        return f"{_id6(value):016x}"
    raise InvalidIdentity(f"not an EUI: {value!r}")


def to_id6(eui: str) -> str:
    """16 hex digits -> ID6 with every group written (a form every Station parses)."""
    number = int(eui, 16)
    return ":".join(f"{(number >> shift) & 0xFFFF:x}" for shift in (48, 32, 16, 0))


def to_dashed(eui: str) -> str:
    """16 hex digits -> "01-23-45-67-89-AB-CD-EF", the form Station writes DevEui and JoinEui in."""
    return "-".join(eui[i : i + 2] for i in range(0, 16, 2)).upper()
