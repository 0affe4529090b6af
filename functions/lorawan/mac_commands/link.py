"""Link control: link check, ADR and duty cycle (LoRaWAN 1.0.4 §5.1-§5.3, LoRaWAN 1.1 §5.11)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from .base import FREQUENCY_STEP_HZ, KnownMACCommand, StatusAnswer, register

_U4 = (0, 15)
_U8 = (0, 255)


@register
@dataclass(frozen=True, slots=True)
class LinkCheckReq(KnownMACCommand):
    """The device asks the network for its link margin and gateway count (no payload)."""

    CID = 0x02
    NAME = "LinkCheckReq"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class LinkCheckAns(KnownMACCommand):
    """Margin: dB above the demodulation floor of the LinkCheckReq (0..254, 255 reserved);
    gw_cnt: how many gateways received it (LoRaWAN 1.0.4 §5.1)."""

    margin: int
    gw_cnt: int
    CID = 0x02
    NAME = "LinkCheckAns"
    UPLINK = False
    SIZE = 2
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"margin": _U8, "gw_cnt": _U8}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.margin, self.gw_cnt])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(margin=payload[0], gw_cnt=payload[1])


@register
@dataclass(frozen=True, slots=True)
class LinkADRReq(KnownMACCommand):
    """Data rate, TX power, channel mask and NbTrans in one command (LoRaWAN 1.0.4 §5.2).

    Octets: DataRate(7:4)|TXPower(3:0), ChMask (16 bits, little-endian, bit n = channel n of
    the block ChMaskCntl selects), RFU(7)|ChMaskCntl(6:4)|NbTrans(3:0). DataRate or TXPower 15
    means "keep the current value"; NbTrans 0 means "use the default"; what ChMaskCntl selects
    is regional (RP002-1.0.4), see `Region.apply_link_adr`.
    """

    data_rate: int
    tx_power: int
    ch_mask: int
    ch_mask_cntl: int
    nb_trans: int
    CID = 0x03
    NAME = "LinkADRReq"
    UPLINK = False
    SIZE = 4
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {
        "data_rate": _U4,
        "tx_power": _U4,
        "ch_mask": (0, 0xFFFF),
        "ch_mask_cntl": (0, 7),
        "nb_trans": _U4,
    }

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return (
            bytes([self.data_rate << 4 | self.tx_power])
            + self.ch_mask.to_bytes(2, "little")
            + bytes([self.ch_mask_cntl << 4 | self.nb_trans])
        )

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(
            data_rate=payload[0] >> 4,
            tx_power=payload[0] & 0x0F,
            ch_mask=int.from_bytes(payload[1:3], "little"),
            ch_mask_cntl=payload[3] >> 4 & 0x07,
            nb_trans=payload[3] & 0x0F,
        )

    @property
    def channels(self) -> tuple[int, ...]:
        """Bit positions set in ChMask (0 = LSB), relative to the block ChMaskCntl selects."""
        return tuple(bit for bit in range(16) if self.ch_mask >> bit & 1)


@register
@dataclass(frozen=True, slots=True)
class LinkADRAns(StatusAnswer):
    """Status bits: 0 channel mask ACK, 1 data rate ACK, 2 power ACK (LoRaWAN 1.0.4 §5.2)."""

    channel_mask_ack: bool
    data_rate_ack: bool
    power_ack: bool
    CID = 0x03
    NAME = "LinkADRAns"
    UPLINK = True
    STATUS_BITS = ("channel_mask_ack", "data_rate_ack", "power_ack")


@register
@dataclass(frozen=True, slots=True)
class DutyCycleReq(KnownMACCommand):
    """Aggregated duty cycle limit 1 / 2^max_duty_cycle; bits 7:4 RFU (LoRaWAN 1.0.4 §5.3)."""

    max_duty_cycle: int
    CID = 0x04
    NAME = "DutyCycleReq"
    UPLINK = False
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"max_duty_cycle": _U4}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.max_duty_cycle])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(max_duty_cycle=payload[0] & 0x0F)

    @property
    def duty_cycle(self) -> float:
        """The aggregated duty cycle the device may use (0 means no limit beyond regional ones)."""
        return 1.0 / (1 << self.max_duty_cycle)


@register
@dataclass(frozen=True, slots=True)
class DutyCycleAns(KnownMACCommand):
    """Acknowledges DutyCycleReq (no payload)."""

    CID = 0x04
    NAME = "DutyCycleAns"
    UPLINK = True


@register
@dataclass(frozen=True, slots=True)
class ADRParamSetupReq(KnownMACCommand):
    """ADR_ACK_LIMIT = 2^limit_exp (bits 7:4) and ADR_ACK_DELAY = 2^delay_exp (bits 3:0)
    (LoRaWAN 1.1 §5.11)."""

    limit_exp: int
    delay_exp: int
    CID = 0x0C
    NAME = "ADRParamSetupReq"
    UPLINK = False
    SIZE = 1
    RANGES: ClassVar[Mapping[str, tuple[int, int]]] = {"limit_exp": _U4, "delay_exp": _U4}

    def payload_bytes(self, *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
        return bytes([self.limit_exp << 4 | self.delay_exp])

    @classmethod
    def _decode(cls, payload: bytes, frequency_step: int) -> Self:
        return cls(limit_exp=payload[0] >> 4, delay_exp=payload[0] & 0x0F)

    @property
    def adr_ack_limit(self) -> int:
        return 1 << self.limit_exp

    @property
    def adr_ack_delay(self) -> int:
        return 1 << self.delay_exp


@register
@dataclass(frozen=True, slots=True)
class ADRParamSetupAns(KnownMACCommand):
    """Acknowledges ADRParamSetupReq (no payload)."""

    CID = 0x0C
    NAME = "ADRParamSetupAns"
    UPLINK = True
