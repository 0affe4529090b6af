"""Identifier and key types with one text form.

People write EUIs, DevAddr and NetID big-endian in lower-case hex; the air interface carries
them little-endian. These types hold the big-endian value and flip byte order only in
`to_wire()` / `from_wire()`, so no other module ever reverses bytes by hand.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import ClassVar, Self

from .errors import InvalidHex, InvalidLength


def _parse_hex(text: str, size: int, what: str) -> bytes:
    cleaned = text.strip().replace("-", "").replace(":", "").lower()
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    if len(cleaned) != size * 2:
        raise InvalidHex(f"{what}: expected {size * 2} hex digits, got {len(cleaned)}")
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise InvalidHex(f"{what}: not hexadecimal") from exc


@dataclass(frozen=True, slots=True)
class _FixedBytes:
    """Base for fixed-size big-endian identifiers; subclasses set SIZE and NAME."""

    value: bytes
    SIZE: ClassVar[int] = 0
    NAME: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if not isinstance(self.value, bytes | bytearray) or len(self.value) != self.SIZE:
            got = len(self.value) if isinstance(self.value, bytes | bytearray) else -1
            raise InvalidLength(self.NAME, got, str(self.SIZE))
        if isinstance(self.value, bytearray):
            object.__setattr__(self, "value", bytes(self.value))

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse the text form (hex, optional separators or 0x prefix)."""
        return cls(_parse_hex(text, cls.SIZE, cls.NAME))

    @classmethod
    def from_wire(cls, data: bytes) -> Self:
        """Build from little-endian air-interface bytes."""
        if len(data) != cls.SIZE:
            raise InvalidLength(cls.NAME, len(data), str(cls.SIZE))
        return cls(bytes(reversed(data)))

    @classmethod
    def from_int(cls, number: int) -> Self:
        if not 0 <= number < 1 << (8 * cls.SIZE):
            raise InvalidLength(cls.NAME, (number.bit_length() + 7) // 8, str(cls.SIZE))
        return cls(number.to_bytes(cls.SIZE, "big"))

    def to_wire(self) -> bytes:
        """Little-endian bytes as sent over the air."""
        return self.value[::-1]

    def __int__(self) -> int:
        return int.from_bytes(self.value, "big")

    def __str__(self) -> str:
        return self.value.hex()

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.value.hex()}')"


@dataclass(frozen=True, slots=True, repr=False)
class EUI64(_FixedBytes):
    """An IEEE EUI-64: DevEUI, JoinEUI (AppEUI in 1.0) or a gateway id."""

    SIZE: ClassVar[int] = 8
    NAME: ClassVar[str] = "EUI64"


# NetID types 0..7: (DevAddr prefix length, NwkID bits). LoRaWAN Backend Interfaces 1.0 §13
# with its erratum (types 3 and 4 use 11 and 12 bits), as brocaar/lorawan and ChirpStack do.
_DEVADDR_LAYOUT: tuple[tuple[int, int], ...] = (
    (1, 6),
    (2, 6),
    (3, 9),
    (4, 11),
    (5, 12),
    (6, 13),
    (7, 15),
    (8, 17),
)


@dataclass(frozen=True, slots=True, repr=False)
class NetID(_FixedBytes):
    """A 24-bit network identifier: 3-bit type and 21-bit ID (Backend Interfaces 1.0 §13)."""

    SIZE: ClassVar[int] = 3
    NAME: ClassVar[str] = "NetID"

    @property
    def type(self) -> int:
        return self.value[0] >> 5

    @property
    def id(self) -> int:
        """The NetID's ID field: the 21 low bits (types 3-7) or 6/9 low bits (types 0-2)."""
        bits = {0: 6, 1: 6, 2: 9}.get(self.type, 21)
        return int(self) & ((1 << bits) - 1)

    @property
    def nwk_id(self) -> int:
        """The NwkID carried in DevAddr: the LSBs of the ID, as many as the type gives."""
        return int(self) & ((1 << _DEVADDR_LAYOUT[self.type][1]) - 1)


@dataclass(frozen=True, slots=True, repr=False)
class DevAddr(_FixedBytes):
    """A 32-bit device address: AddrPrefix (type prefix + NwkID) and NwkAddr (LoRaWAN 1.1 §6.1.1)."""

    SIZE: ClassVar[int] = 4
    NAME: ClassVar[str] = "DevAddr"

    @property
    def netid_type(self) -> int:
        """The NetID type, from the number of leading 1 bits (0..7); -1 for the 0xff prefix."""
        first = self.value[0]
        for netid_type in range(8):
            if not first & (0x80 >> netid_type):
                return netid_type
        return -1

    @property
    def nwk_id(self) -> int:
        netid_type = self.netid_type
        if netid_type < 0:
            return 0
        prefix_len, nwk_bits = _DEVADDR_LAYOUT[netid_type]
        return (int(self) >> (32 - prefix_len - nwk_bits)) & ((1 << nwk_bits) - 1)

    @property
    def nwk_addr(self) -> int:
        netid_type = self.netid_type
        if netid_type < 0:
            return int(self)
        prefix_len, nwk_bits = _DEVADDR_LAYOUT[netid_type]
        return int(self) & ((1 << (32 - prefix_len - nwk_bits)) - 1)

    def is_net_id(self, net_id: NetID) -> bool:
        """True when this address was allocated under `net_id` (same type and NwkID)."""
        return self.netid_type == net_id.type and self.nwk_id == net_id.nwk_id

    def with_net_id(self, net_id: NetID) -> DevAddr:
        """Return this address with the AddrPrefix of `net_id` (keeps the NwkAddr bits)."""
        prefix_len, nwk_bits = _DEVADDR_LAYOUT[net_id.type]
        addr_bits = 32 - prefix_len - nwk_bits
        prefix = ((1 << prefix_len) - 2) & ((1 << prefix_len) - 1)  # type ones then a zero
        value = (prefix << (32 - prefix_len)) | (net_id.nwk_id << addr_bits)
        value |= int(self) & ((1 << addr_bits) - 1)
        return DevAddr.from_int(value)

    @classmethod
    def random(cls, net_id: NetID) -> DevAddr:
        """A random address within `net_id`'s prefix (for ABP provisioning and OTAA joins)."""
        return cls(secrets.token_bytes(4)).with_net_id(net_id)


@dataclass(frozen=True, slots=True, repr=False)
class AES128Key(_FixedBytes):
    """A 128-bit AES key. Its repr never shows the key, so it cannot leak into a log line."""

    SIZE: ClassVar[int] = 16
    NAME: ClassVar[str] = "AES128Key"

    def to_wire(self) -> bytes:
        """Keys have no byte order to flip: they go into AES as they are written."""
        return self.value

    @classmethod
    def from_wire(cls, data: bytes) -> Self:
        if len(data) != cls.SIZE:
            raise InvalidLength(cls.NAME, len(data), str(cls.SIZE))
        return cls(bytes(data))

    @classmethod
    def random(cls) -> Self:
        return cls(secrets.token_bytes(16))

    def __repr__(self) -> str:
        return "AES128Key(<redacted>)"

    def hex(self) -> str:
        """The key in hex; call this explicitly where a key must be shown (the CLI, an API reply)."""
        return self.value.hex()

    def __str__(self) -> str:
        return "<redacted>"
