"""Class B commands: ping slots, beacon timing and beacon frequency (1.0.4 §13-14, 1.1 §14)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from .base import (
    FREQUENCY_STEP_HZ,
    KnownMACCommand,
    StatusAnswer,
    decode_frequency,
    encode_frequency,
    register,
)


@register
@dataclass(frozen=True, slots=True)
class PingSlotInfoReq(KnownMACCommand):
    """The device's ping-slot periodicity: a ping every 2^periodicity seconds (bits 2:0)."""

    periodicity: int
    CID = 0x10
    NAME = "PingSlotInfoReq"
    UPLINK = True
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"periodicity": (0, 7)}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.periodicity])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(periodicity=payload[0] & 0x07)


@register
@dataclass(frozen=True, slots=True)
class PingSlotInfoAns(KnownMACCommand):
    """Acknowledges PingSlotInfoReq (no payload)."""

    CID = 0x10
    NAME = "PingSlotInfoAns"
    UPLINK = False


@register
@dataclass(frozen=True, slots=True)
class PingSlotChannelReq(KnownMACCommand):
    """Ping-slot frequency (0 = the region's default hopping) and data rate (bits 3:0)."""

    frequency: int
    data_rate: int
    CID = 0x11
    NAME = "PingSlotChannelReq"
    UPLINK = False
    SIZE = 4
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"data_rate": (0, 15)}
    FREQUENCIES = ("frequency",)

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return encode_frequency(self.NAME, self.frequency, frequency_step) + bytes([self.data_rate])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(frequency=decode_frequency(payload[:3], frequency_step), data_rate=payload[3] & 0x0F)


@register
@dataclass(frozen=True, slots=True)
class PingSlotChannelAns(StatusAnswer):
    """Bits: 0 channel frequency OK, 1 data rate OK."""

    channel_frequency_ok: bool
    data_rate_ok: bool
    CID = 0x11
    NAME = "PingSlotChannelAns"
    UPLINK = True
    STATUS_BITS = ("channel_frequency_ok", "data_rate_ok")


@register
@dataclass(frozen=True, slots=True)
class BeaconTimingReq(KnownMACCommand):
    """Deprecated since 1.0.3 (DeviceTimeReq replaces it); kept for 1.0.2 class B devices."""

    CID = 0x12
    NAME = "BeaconTimingReq"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class BeaconTimingAns(KnownMACCommand):
    """Delay to the next beacon in 30 ms units (16 bits LE) and the beacon channel (1.0.2 class B)."""

    delay: int
    channel: int
    CID = 0x12
    NAME = "BeaconTimingAns"
    UPLINK = False
    SIZE = 3
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"delay": (0, 0xFFFF), "channel": (0, 255)}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return self.delay.to_bytes(2, "little") + bytes([self.channel])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(delay=int.from_bytes(payload[:2], "little"), channel=payload[2])


@register
@dataclass(frozen=True, slots=True)
class BeaconFreqReq(KnownMACCommand):
    """Beacon frequency (0 = the region's default)."""

    frequency: int
    CID = 0x13
    NAME = "BeaconFreqReq"
    UPLINK = False
    SIZE = 3
    FREQUENCIES = ("frequency",)

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return encode_frequency(self.NAME, self.frequency, frequency_step)

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(frequency=decode_frequency(payload, frequency_step))


@register
@dataclass(frozen=True, slots=True)
class BeaconFreqAns(StatusAnswer):
    """Bit 0: beacon frequency OK."""

    beacon_frequency_ok: bool
    CID = 0x13
    NAME = "BeaconFreqAns"
    UPLINK = True
    STATUS_BITS = ("beacon_frequency_ok",)
