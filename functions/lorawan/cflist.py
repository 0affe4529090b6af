"""The 16-octet CFList of a Join-accept (LoRaWAN 1.0.4 §6.2.4, RP002-1.0.4 §2.4.4 / §2.5.4).

Type 0 lists the frequencies of channels N..N+4 of a dynamic channel plan; type 1 carries
channel masks for the fixed plans (US915, AU915, CN470). The last octet is CFListType.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from .errors import DecodeError, EncodeError, InvalidLength

CFLIST_SIZE = 16
_FREQ_STEP_HZ = 100
_MAX_FREQ_FIELD = (1 << 24) - 1
_MAX_CH_MASKS = 5


@dataclass(frozen=True, slots=True)
class CFListFrequencies:
    """CFListType 0: up to five 24-bit little-endian frequencies in 100 Hz steps (0 = unused).

    RP002-1.0.4 §2.4.4: values below 100 MHz are RFU; a frequency of 0 leaves the slot unused.
    """

    frequencies: tuple[int, ...]
    TYPE: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if len(self.frequencies) > 5:
            raise EncodeError(f"CFList type 0 holds at most 5 frequencies, got {len(self.frequencies)}")
        for frequency in self.frequencies:
            if frequency % _FREQ_STEP_HZ or not 0 <= frequency // _FREQ_STEP_HZ <= _MAX_FREQ_FIELD:
                raise EncodeError(f"CFList frequency {frequency} Hz is not a 24-bit multiple of 100 Hz")

    @property
    def type(self) -> int:
        return self.TYPE

    def to_bytes(self) -> bytes:
        body = b"".join((freq // _FREQ_STEP_HZ).to_bytes(3, "little") for freq in self.frequencies).ljust(
            15, b"\x00"
        )
        return body + bytes([self.TYPE])

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _check(data, cls.TYPE)
        values = [int.from_bytes(data[i : i + 3], "little") * _FREQ_STEP_HZ for i in range(0, 15, 3)]
        while values and values[-1] == 0:  # trailing zero slots are "unused", not 0 Hz channels
            values.pop()
        return cls(tuple(values))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.TYPE, "frequencies": list(self.frequencies)}


@dataclass(frozen=True, slots=True)
class CFListChannelMask:
    """CFListType 1: up to five 16-bit ChMask fields (channels 0-15, 16-31, ...), then RFU.

    RP002-1.0.4 §2.5.4 (US915), §2.8.4 (AU915), §2.9.4 (CN470).
    """

    ch_masks: tuple[int, ...]
    TYPE: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if len(self.ch_masks) > _MAX_CH_MASKS:
            raise EncodeError(f"CFList type 1 holds at most 5 ChMask fields, got {len(self.ch_masks)}")
        for mask in self.ch_masks:
            if not 0 <= mask <= 0xFFFF:
                raise EncodeError(f"ChMask {mask} does not fit in 16 bits")

    @property
    def type(self) -> int:
        return self.TYPE

    @classmethod
    def from_channels(cls, enabled: frozenset[int] | set[int], mask_count: int) -> Self:
        """Build the masks for an enabled channel set over `mask_count` 16-channel blocks."""
        if any(not 0 <= ch < 16 * mask_count for ch in enabled):
            raise EncodeError(f"channel outside the {16 * mask_count} channels a CFList can carry")
        masks = [0] * mask_count
        for ch in enabled:
            masks[ch // 16] |= 1 << (ch % 16)
        return cls(tuple(masks))

    @property
    def enabled_channels(self) -> frozenset[int]:
        return frozenset(
            block * 16 + bit
            for block, mask in enumerate(self.ch_masks)
            for bit in range(16)
            if mask >> bit & 1
        )

    def to_bytes(self) -> bytes:
        body = b"".join(mask.to_bytes(2, "little") for mask in self.ch_masks).ljust(15, b"\x00")
        return body + bytes([self.TYPE])

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _check(data, cls.TYPE)
        # All five ChMask fields are kept (a zero mask is meaningful: those channels are off).
        return cls(tuple(int.from_bytes(data[i : i + 2], "little") for i in range(0, 10, 2)))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.TYPE, "ch_masks": list(self.ch_masks)}


CFList = CFListFrequencies | CFListChannelMask


def _check(data: bytes, cf_list_type: int) -> None:
    if len(data) != CFLIST_SIZE:
        raise InvalidLength("CFList", len(data), str(CFLIST_SIZE))
    if data[15] != cf_list_type:
        raise DecodeError(f"CFListType {data[15]} where {cf_list_type} was expected")


def decode_cf_list(data: bytes) -> CFList:
    """Decode a CFList by its CFListType octet; types 2-255 are RFU (LoRaWAN 1.0.4 §6.2.4)."""
    if len(data) != CFLIST_SIZE:
        raise InvalidLength("CFList", len(data), str(CFLIST_SIZE))
    if data[15] == CFListFrequencies.TYPE:
        return CFListFrequencies.from_bytes(data)
    if data[15] == CFListChannelMask.TYPE:
        return CFListChannelMask.from_bytes(data)
    raise DecodeError(f"CFListType {data[15]} is RFU")
