"""Receive windows, channels, dwell time and device status (LoRaWAN 1.0.4 §5.4-§5.10)."""

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

_U4 = (0, 15)
_U8 = (0, 255)


@register
@dataclass(frozen=True, slots=True)
class RXParamSetupReq(KnownMACCommand):
    """RX1 data-rate offset, RX2 data rate and RX2 frequency (1.0.4 §5.4): DLsettings | Frequency."""

    rx1_dr_offset: int
    rx2_data_rate: int
    frequency: int
    CID = 0x05
    NAME = "RXParamSetupReq"
    UPLINK = False
    SIZE = 4
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"rx1_dr_offset": (0, 7), "rx2_data_rate": _U4}
    FREQUENCIES = ("frequency",)

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        settings = bytes([self.rx1_dr_offset << 4 | self.rx2_data_rate])
        return settings + encode_frequency(self.NAME, self.frequency, frequency_step)

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(
            rx1_dr_offset=payload[0] >> 4 & 0x07,
            rx2_data_rate=payload[0] & 0x0F,
            frequency=decode_frequency(payload[1:4], frequency_step),
        )


@register
@dataclass(frozen=True, slots=True)
class RXParamSetupAns(StatusAnswer):
    """Bits: 0 channel ACK, 1 RX2 data rate ACK, 2 RX1 DR offset ACK (1.0.4 §5.4)."""

    channel_ack: bool
    rx2_data_rate_ack: bool
    rx1_dr_offset_ack: bool
    CID = 0x05
    NAME = "RXParamSetupAns"
    UPLINK = True
    STATUS_BITS = ("channel_ack", "rx2_data_rate_ack", "rx1_dr_offset_ack")


@register
@dataclass(frozen=True, slots=True)
class DevStatusReq(KnownMACCommand):
    """The network asks for battery level and demodulation margin (no payload)."""

    CID = 0x06
    NAME = "DevStatusReq"
    UPLINK = False


@register
@dataclass(frozen=True, slots=True)
class DevStatusAns(KnownMACCommand):
    """Battery: 0 external power, 1..254 level, 255 unknown. Margin: SNR of the last DevStatusReq in dB,
    a 6-bit two's-complement value -32..31 (1.0.4 §5.5). TTN encodes -16 as 0x2f, one off; we follow the
    spec's two's complement as brocaar, ChirpStack and LoRaMac-node do."""

    battery: int
    margin: int
    CID = 0x06
    NAME = "DevStatusAns"
    UPLINK = True
    SIZE = 2
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"battery": _U8, "margin": (-32, 31)}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.battery, self.margin & 0x3F])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        raw = payload[1] & 0x3F
        return cls(battery=payload[0], margin=raw - 64 if raw & 0x20 else raw)


@register
@dataclass(frozen=True, slots=True)
class NewChannelReq(KnownMACCommand):
    """Create, modify (or with frequency 0 disable) channel `ch_index` (1.0.4 §5.6)."""

    ch_index: int
    frequency: int
    max_dr: int
    min_dr: int
    CID = 0x07
    NAME = "NewChannelReq"
    UPLINK = False
    SIZE = 5
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"ch_index": _U8, "max_dr": _U4, "min_dr": _U4}
    FREQUENCIES = ("frequency",)

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        frequency = encode_frequency(self.NAME, self.frequency, frequency_step)
        return bytes([self.ch_index]) + frequency + bytes([self.max_dr << 4 | self.min_dr])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(
            ch_index=payload[0],
            frequency=decode_frequency(payload[1:4], frequency_step),
            max_dr=payload[4] >> 4,
            min_dr=payload[4] & 0x0F,
        )


@register
@dataclass(frozen=True, slots=True)
class NewChannelAns(StatusAnswer):
    """Bits: 0 channel frequency OK, 1 data rate range OK."""

    channel_frequency_ok: bool
    data_rate_range_ok: bool
    CID = 0x07
    NAME = "NewChannelAns"
    UPLINK = True
    STATUS_BITS = ("channel_frequency_ok", "data_rate_range_ok")


@register
@dataclass(frozen=True, slots=True)
class RXTimingSetupReq(KnownMACCommand):
    """RX1 delay in seconds, bits 3:0 (0 means 1 s, 1.0.4 §5.7)."""

    delay: int
    CID = 0x08
    NAME = "RXTimingSetupReq"
    UPLINK = False
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"delay": _U4}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.delay])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(delay=payload[0] & 0x0F)

    @property
    def rx1_delay_seconds(self) -> int:
        return max(1, self.delay)


@register
@dataclass(frozen=True, slots=True)
class RXTimingSetupAns(KnownMACCommand):
    """Acknowledges RXTimingSetupReq (no payload)."""

    CID = 0x08
    NAME = "RXTimingSetupAns"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class TxParamSetupReq(KnownMACCommand):
    """Dwell time limits and the MaxEIRP index (1.0.4 §5.8; bit 5 downlink, bit 4 uplink dwell time)."""

    downlink_dwell_time: bool
    uplink_dwell_time: bool
    max_eirp: int
    CID = 0x09
    NAME = "TxParamSetupReq"
    UPLINK = False
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"max_eirp": _U4}
    MAX_EIRP_DBM: ClassVar[tuple[int, ...]] = (8, 10, 12, 13, 14, 16, 18, 20, 21, 24, 26, 27, 29, 30, 33, 36)

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.downlink_dwell_time << 5 | self.uplink_dwell_time << 4 | self.max_eirp])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        value = payload[0]
        return cls(
            downlink_dwell_time=bool(value & 0x20),
            uplink_dwell_time=bool(value & 0x10),
            max_eirp=value & 0x0F,
        )

    @property
    def max_eirp_dbm(self) -> int:
        return self.MAX_EIRP_DBM[self.max_eirp]


@register
@dataclass(frozen=True, slots=True)
class TxParamSetupAns(KnownMACCommand):
    """Acknowledges TxParamSetupReq (no payload)."""

    CID = 0x09
    NAME = "TxParamSetupAns"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class DlChannelReq(KnownMACCommand):
    """Move the RX1 downlink frequency of channel `ch_index` (1.0.4 §5.9)."""

    ch_index: int
    frequency: int
    CID = 0x0A
    NAME = "DlChannelReq"
    UPLINK = False
    SIZE = 4
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"ch_index": _U8}
    FREQUENCIES = ("frequency",)

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.ch_index]) + encode_frequency(self.NAME, self.frequency, frequency_step)

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(ch_index=payload[0], frequency=decode_frequency(payload[1:4], frequency_step))


@register
@dataclass(frozen=True, slots=True)
class DlChannelAns(StatusAnswer):
    """Bits: 0 channel frequency OK, 1 uplink frequency exists."""

    channel_frequency_ok: bool
    uplink_frequency_exists: bool
    CID = 0x0A
    NAME = "DlChannelAns"
    UPLINK = True
    STATUS_BITS = ("channel_frequency_ok", "uplink_frequency_exists")
