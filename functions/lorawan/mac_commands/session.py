"""LoRaWAN 1.1 session commands: reset, rekey, rejoin control, device mode, and DeviceTime (1.1 §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from .base import FREQUENCY_STEP_HZ, KnownMACCommand, StatusAnswer, register

_U4 = (0, 15)


class _MinorVersion(KnownMACCommand):
    """One octet whose bits 3:0 are the LoRaWAN minor version (1 for LoRaWAN x.1)."""

    __slots__ = ()
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"minor": _U4}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([getattr(self, "minor")])  # noqa: B009 - the field is declared by each dataclass

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(minor=payload[0] & 0x0F)  # type: ignore[call-arg]


@register
@dataclass(frozen=True, slots=True)
class ResetInd(_MinorVersion):
    """An ABP device tells the network it reset its session (1.1 §5.1)."""

    minor: int
    CID = 0x01
    NAME = "ResetInd"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class ResetConf(_MinorVersion):
    """The network's answer to ResetInd with the version it will use."""

    minor: int
    CID = 0x01
    NAME = "ResetConf"
    UPLINK = False


@register
@dataclass(frozen=True, slots=True)
class RekeyInd(_MinorVersion):
    """An OTAA 1.1 device confirms its new session keys after a join (1.1 §5.10)."""

    minor: int
    CID = 0x0B
    NAME = "RekeyInd"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class RekeyConf(_MinorVersion):
    minor: int
    CID = 0x0B
    NAME = "RekeyConf"
    UPLINK = False


@register
@dataclass(frozen=True, slots=True)
class DeviceTimeReq(KnownMACCommand):
    """The device asks for the network time (no payload, 1.0.3+ §5.9 / 1.1 §5.12)."""

    CID = 0x0D
    NAME = "DeviceTimeReq"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class DeviceTimeAns(KnownMACCommand):
    """Seconds since the GPS epoch (32 bits LE) and fractional seconds in 1/256 s, at the end of the
    uplink that carried DeviceTimeReq."""

    seconds: int
    fractional: int
    CID = 0x0D
    NAME = "DeviceTimeAns"
    UPLINK = False
    SIZE = 5
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"seconds": (0, 0xFFFFFFFF), "fractional": (0, 255)}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return self.seconds.to_bytes(4, "little") + bytes([self.fractional])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(seconds=int.from_bytes(payload[:4], "little"), fractional=payload[4])

    @classmethod
    def from_gps_time(cls, gps_seconds: float) -> Self:
        whole = int(gps_seconds)
        return cls(seconds=whole & 0xFFFFFFFF, fractional=min(255, round((gps_seconds - whole) * 256)))

    @property
    def gps_seconds(self) -> float:
        return self.seconds + self.fractional / 256


@register
@dataclass(frozen=True, slots=True)
class ForceRejoinReq(KnownMACCommand):
    """Ask the device to send RejoinRequests now (1.1 §5.13). The two octets are one little-endian
    16-bit field: RFU 15:14, Period 13:11, Max_Retries 10:8, RFU 7, RejoinType 6:4, DR 3:0 — the spec's
    rule for multi-octet fields, as brocaar and ChirpStack encode it (TTN and LoRaMac-node put
    Period|Max_Retries in the first octet instead)."""

    period: int
    max_retries: int
    rejoin_type: int
    data_rate: int
    CID = 0x0E
    NAME = "ForceRejoinReq"
    UPLINK = False
    SIZE = 2
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {
        "period": (0, 7),
        "max_retries": (0, 7),
        "rejoin_type": (0, 7),
        "data_rate": _U4,
    }

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        word = self.period << 11 | self.max_retries << 8 | self.rejoin_type << 4 | self.data_rate
        return word.to_bytes(2, "little")

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        word = int.from_bytes(payload, "little")
        return cls(
            period=word >> 11 & 0x07,
            max_retries=word >> 8 & 0x07,
            rejoin_type=word >> 4 & 0x07,
            data_rate=word & 0x0F,
        )


@register
@dataclass(frozen=True, slots=True)
class RejoinParamSetupReq(KnownMACCommand):
    """Periodic type-0 rejoin: every 2^(max_count_n+4) uplinks or 2^(max_time_n+10) s (1.1 §5.14)."""

    max_time_n: int
    max_count_n: int
    CID = 0x0F
    NAME = "RejoinParamSetupReq"
    UPLINK = False
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"max_time_n": _U4, "max_count_n": _U4}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.max_time_n << 4 | self.max_count_n])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(max_time_n=payload[0] >> 4, max_count_n=payload[0] & 0x0F)


@register
@dataclass(frozen=True, slots=True)
class RejoinParamSetupAns(StatusAnswer):
    """Bit 0: the device accepted the time limit (it always accepts the count)."""

    time_ok: bool
    CID = 0x0F
    NAME = "RejoinParamSetupAns"
    UPLINK = True
    STATUS_BITS = ("time_ok",)


@register
@dataclass(frozen=True, slots=True)
class DeviceModeInd(KnownMACCommand):
    """The device reports its class: 0 class A, 2 class C (1.1 §5.15; 1 is RFU)."""

    device_class: int
    CID = 0x20
    NAME = "DeviceModeInd"
    UPLINK = True
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"device_class": (0, 255)}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.device_class])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(device_class=payload[0])


@register
@dataclass(frozen=True, slots=True)
class DeviceModeConf(KnownMACCommand):
    device_class: int
    CID = 0x20
    NAME = "DeviceModeConf"
    UPLINK = False
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"device_class": (0, 255)}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.device_class])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(device_class=payload[0])
