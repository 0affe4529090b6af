"""The two terminal items of a decoded sequence: a proprietary command and an unknown tail.

Neither has a length the decoder can know, so each takes the rest of the buffer and ends the
list (LoRaWAN 1.1 §5: "the first unknown MAC command terminates the processing of the MAC
command sequence"). Both re-encode to the bytes they came from, so a frame can be forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import EncodeError
from .base import FREQUENCY_STEP_HZ, MACCommand

PROPRIETARY_CID_MIN = 0x80
"""CIDs 0x80..0xFF are reserved for proprietary network command extensions (LoRaWAN 1.1 §5)."""


def _check_bytes(owner: str, name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise EncodeError(f"{owner}.{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


@dataclass(frozen=True, slots=True)
class ProprietaryMACCommand(MACCommand):
    """A proprietary CID (0x80..0xFF) with every octet after it as its payload."""

    cid: int = field()  # a field here, an abstract property on MACCommand
    payload: bytes
    NAME: ClassVar[str] = "Proprietary"

    def __post_init__(self) -> None:
        if not isinstance(self.cid, int) or not PROPRIETARY_CID_MIN <= self.cid <= 0xFF:
            raise EncodeError(f"proprietary CIDs are 0x80..0xff, got {self.cid!r}")
        object.__setattr__(self, "payload", _check_bytes(self.NAME, "payload", self.payload))

    def to_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.cid]) + self.payload

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.NAME, "cid": self.cid, "payload": self.payload.hex()}


@dataclass(frozen=True, slots=True)
class UnparsedMACCommands(MACCommand):
    """An unknown standard CID and the `data` after it, which cannot be delimited further.

    Kept as a list item rather than raised so callers can count and log it; pass
    `strict=True` to `decode_mac_commands` to get `UnknownMACCommand` instead.
    """

    cid: int = field()  # a field here, an abstract property on MACCommand
    data: bytes
    NAME: ClassVar[str] = "Unparsed"

    def __post_init__(self) -> None:
        if not isinstance(self.cid, int) or not 0 <= self.cid < PROPRIETARY_CID_MIN:
            raise EncodeError(f"an unparsed tail starts with a CID in 0x00..0x7f, got {self.cid!r}")
        object.__setattr__(self, "data", _check_bytes(self.NAME, "data", self.data))

    def to_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.cid]) + self.data

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.NAME, "cid": self.cid, "data": self.data.hex()}
