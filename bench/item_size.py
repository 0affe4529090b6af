"""The size of a DynamoDB item as DynamoDB bills it (Developer Guide, "DynamoDB item sizes and formats"):
each attribute's name plus its value: strings and binary by their bytes (binary raw, not base64), numbers
by their base-100 digits plus one byte, booleans and nulls one byte, lists and maps 3 bytes plus one byte
and the size of each element (a map element's name counted too). Writes are billed in 1 KB units of the
larger of the item before and after, reads in 4 KB units."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

KB = 1024


def number_size(text: str) -> int:
    """A number's stored size: one byte per pair of significant decimal digits (pairs aligned on the
    decimal point, zero pairs at either end dropped) plus one byte of sign and exponent."""
    digits, exponent = Decimal(text).normalize().as_tuple()[1:]
    if digits == (0,):
        return 1
    exponent = int(exponent)
    if exponent % 2:  # align on pairs: one more trailing zero
        digits, exponent = (*digits, 0), exponent - 1
    if len(digits) % 2:
        digits = (0, *digits)
    pairs = [digits[i : i + 2] for i in range(0, len(digits), 2)]
    while pairs and pairs[-1] == (0, 0):
        pairs.pop()
    return len(pairs) + 1


def value_size(value: dict[str, Any]) -> int:
    """One attribute value in DynamoDB's JSON form ({"S": ...}, {"N": ...}, {"B": base64 or bytes}, ...)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(x).encode()) for x in data)
    if kind == "NS":
        return sum(number_size(str(x)) for x in data)
    if kind == "BS":
        return sum(value_size({"B": x}) for x in data)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in data.items())
    raise ValueError(f"not a DynamoDB attribute value type: {kind!r}")


def item_size(item: dict[str, Any]) -> int:
    """The item's size in bytes: attribute names (UTF-8) plus values."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())
