"""What every MAC command shares, and the registry keyed by (CID, direction).

A MAC command is one CID octet followed by a payload whose length is implied by the CID and
the direction (LoRaWAN 1.1 §5, LoRaWAN 1.0.4 §5): CID 0x03 is a 4-octet LinkADRReq downlink
but a 1-octet LinkADRAns uplink. So the registry maps (CID, uplink) to a class that knows its
payload length, and the decoder can only walk a sequence as far as it knows every CID.

Field values are checked when a command is built (EncodeError), so a command that exists can
always be encoded; decoders only check lengths and ignore RFU bits, as receivers must
(LoRaWAN 1.0.4 §1.2: RFU bits are set to zero on transmission and ignored on reception).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import Field, fields
from types import MappingProxyType
from typing import Any, ClassVar, Self

from ..errors import EncodeError, InvalidLength, UnexpectedCID

FREQUENCY_STEP_HZ = 100
"""Frequency fields are 24-bit counts of 100 Hz (LoRaWAN 1.0.4 §5.6, RP002-1.0.4)."""

ISM2400_FREQUENCY_STEP_HZ = 200
"""The 2.4 GHz ISM band counts frequency fields in 200 Hz steps, so the step comes from the
band the device is in, never from the value (a 24-bit value >= 12,000,000 is a valid sub-GHz
field too: TTN's RXParamSetupReq vector carries 0xffff42 = 1677.7026 MHz)."""

_FREQUENCY_MAX_FIELD = (1 << 24) - 1


class MACCommand(ABC):
    """One item of a decoded MAC command sequence: a known command or a terminal raw tail."""

    __slots__ = ()
    NAME: ClassVar[str]

    @property
    @abstractmethod
    def cid(self) -> int:
        """The command identifier octet."""

    @abstractmethod
    def to_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        """CID followed by the payload, as carried in FOpts or an FPort-0 FRMPayload."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"name": NAME, <fields>}."""


class KnownMACCommand(MACCommand):
    """A command of LoRaWAN 1.0.4 / 1.1 with a fixed payload length for its direction.

    Subclasses are frozen dataclasses that set CID, NAME, UPLINK and SIZE (payload octets) and,
    when they have a payload, `payload_bytes()` and `_decode()`. `RANGES` gives the allowed
    interval of each integer field and `FREQUENCIES` names the fields that hold frequencies
    in Hz; booleans are checked for type. All of it is checked when the command is built.
    """

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    CID: ClassVar[int]
    UPLINK: ClassVar[bool]
    SIZE: ClassVar[int] = 0
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {}
    FREQUENCIES: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for spec in fields(self):  # every concrete command is a dataclass
            name = spec.name
            value = getattr(self, name)
            if spec.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise EncodeError(f"{self.NAME}.{name} must be a bool, got {value!r}")
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise EncodeError(f"{self.NAME}.{name} must be an int, got {value!r}")
            if name in self.FREQUENCIES:
                if value < 0:
                    raise EncodeError(f"{self.NAME}.{name} must be >= 0 Hz, got {value}")
                continue
            low, high = self.RANGES[name]
            if not low <= value <= high:
                raise EncodeError(f"{self.NAME}.{name} must be in {low}..{high}, got {value}")

    @property
    def cid(self) -> int:
        return self.CID

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        """The payload without the CID (empty for commands that carry none)."""
        return b""

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        """Build from a payload of exactly SIZE octets."""
        return cls()

    @classmethod
    def from_payload(cls, payload: bytes, *, frequency_step: int = FREQUENCY_STEP_HZ) -> Self:
        """Decode the payload that follows the CID."""
        if len(payload) != cls.SIZE:
            raise InvalidLength(f"{cls.NAME} payload", len(payload), str(cls.SIZE))
        return cls._decode(bytes(payload), frequency_step)

    def to_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.CID]) + self.payload_bytes(frequency_step=frequency_step)

    @classmethod
    def from_bytes(cls, data: bytes, *, frequency_step: int = FREQUENCY_STEP_HZ) -> Self:
        """Decode exactly one command: its CID and a payload of the right length."""
        if not data or data[0] != cls.CID:
            raise UnexpectedCID(cls.NAME, cls.CID, data[0] if data else None)
        if len(data) != 1 + cls.SIZE:
            raise InvalidLength(cls.NAME, len(data), str(1 + cls.SIZE))
        return cls._decode(bytes(data[1:]), frequency_step)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.NAME} | {spec.name: getattr(self, spec.name) for spec in fields(self)}


class StatusAnswer(KnownMACCommand):
    """A one-octet answer whose bits 0, 1, 2... are the flags named in STATUS_BITS, rest RFU."""

    __slots__ = ()
    SIZE: ClassVar[int] = 1
    STATUS_BITS: ClassVar[tuple[str, ...]]

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([sum(1 << bit for bit, name in enumerate(self.STATUS_BITS) if getattr(self, name))])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        flags = {name: bool(payload[0] >> bit & 1) for bit, name in enumerate(cls.STATUS_BITS)}
        return cls(**flags)


def encode_frequency(owner: str, frequency: int, step: int) -> bytes:
    """A frequency in Hz as the 24-bit little-endian count of `step` Hz (0 stays 0)."""
    count, rest = divmod(frequency, step)
    if rest or not 0 <= count <= _FREQUENCY_MAX_FIELD:
        raise EncodeError(f"{owner}: {frequency} Hz is not a 24-bit multiple of {step} Hz")
    return count.to_bytes(3, "little")


def decode_frequency(field: bytes, step: int) -> int:
    return int.from_bytes(field[:3], "little") * step


_REGISTRY: dict[tuple[int, bool], type[KnownMACCommand]] = {}

MAC_COMMANDS: Mapping[tuple[int, bool], type[KnownMACCommand]] = MappingProxyType(_REGISTRY)
"""(CID, uplink) -> command class; the class's SIZE is its payload length."""


def register[C: type[KnownMACCommand]](cls: C) -> C:
    """Class decorator: add a command to the (CID, direction) registry."""
    key = (cls.CID, cls.UPLINK)
    if key in _REGISTRY and _REGISTRY[key].NAME != cls.NAME:
        raise TypeError(f"{cls.NAME}: CID 0x{cls.CID:02x} uplink={cls.UPLINK} is {_REGISTRY[key].NAME}")
    if not 0 <= cls.CID < 0x80:
        raise TypeError(f"{cls.NAME}: CID 0x{cls.CID:02x} is outside the standard range")
    _REGISTRY[key] = cls
    return cls


def command_class(cid: int, *, uplink: bool) -> type[KnownMACCommand] | None:
    """The class for a CID in one direction, or None if this CID is unknown there."""
    return _REGISTRY.get((cid, uplink))
