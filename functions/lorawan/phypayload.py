"""PHYPayload: MHDR | payload | MIC for every message type (LoRaWAN 1.0.4 §4, 1.1 §4).

Decoding never needs a key. A JoinAccept stays encrypted until `decrypt_join_accept` is given the key;
the MIC is kept as bytes and checked by the caller with `functions.lorawan.crypto`, which needs the full
32-bit frame counter only the session knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from functions.lorawan.errors import DecodeError, EncodeError, InvalidLength
from functions.lorawan.join import JoinRequest, RejoinRequest
from functions.lorawan.macpayload import MACPayload

MIC_LEN = 4
DATA_MIN_LEN = 1 + 7 + MIC_LEN


class MType(IntEnum):
    """Message types, named as the specification names them (1.1 §4.2.1)."""

    JoinRequest = 0
    JoinAccept = 1
    UnconfirmedDataUp = 2
    UnconfirmedDataDown = 3
    ConfirmedDataUp = 4
    ConfirmedDataDown = 5
    RejoinRequest = 6
    Proprietary = 7

    @property
    def uplink(self) -> bool:
        """Whether the end-device sends it (proprietary frames count as uplinks: they have no direction)."""
        return self in _UPLINK

    @property
    def is_data(self) -> bool:
        return self in _DATA

    @property
    def confirmed(self) -> bool:
        return self in (MType.ConfirmedDataUp, MType.ConfirmedDataDown)


_UPLINK = frozenset(
    {
        MType.JoinRequest,
        MType.UnconfirmedDataUp,
        MType.ConfirmedDataUp,
        MType.RejoinRequest,
        MType.Proprietary,
    }
)
_DATA = frozenset(
    {MType.UnconfirmedDataUp, MType.UnconfirmedDataDown, MType.ConfirmedDataUp, MType.ConfirmedDataDown}
)


class Major(IntEnum):
    """Only LoRaWAN R1 is defined; other values are decoded and kept so a caller can reject them."""

    LoRaWANR1 = 0


@dataclass(frozen=True, slots=True)
class MHDR:
    m_type: MType
    major: int = Major.LoRaWANR1

    def to_byte(self) -> int:
        if not 0 <= self.major <= 0x03:
            raise EncodeError(f"Major must be 0..3, got {self.major}")
        return (self.m_type << 5) | self.major

    @classmethod
    def from_byte(cls, value: int) -> Self:
        return cls(MType(value >> 5), value & 0x03)


@dataclass(frozen=True, slots=True)
class EncryptedJoinAccept:
    """A JoinAccept as it travels: MACPayload|MIC encrypted together, 16 or 32 bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ProprietaryPayload:
    """Everything after MHDR. Proprietary frames have no MIC of the specification's making: the format is
    the vendor's (1.1 §4.2.1), so, as in ChirpStack (unlike lora-packet and brocaar), no MIC is split off."""

    data: bytes


Payload = MACPayload | JoinRequest | EncryptedJoinAccept | RejoinRequest | ProprietaryPayload


@dataclass(frozen=True, slots=True)
class PHYPayload:
    mhdr: MHDR
    payload: Payload
    mic: bytes = b"\x00\x00\x00\x00"

    @property
    def m_type(self) -> MType:
        return self.mhdr.m_type

    @property
    def uplink(self) -> bool:
        return self.mhdr.m_type.uplink

    def payload_bytes(self) -> bytes:
        payload = self.payload
        if isinstance(payload, MACPayload):
            return payload.to_bytes(uplink=self.uplink)
        if isinstance(payload, JoinRequest | RejoinRequest):
            return payload.to_bytes()
        return payload.data

    def mic_input(self) -> bytes:
        """MHDR | MACPayload: the message the MIC covers (data, join-request and rejoin frames)."""
        return bytes((self.mhdr.to_byte(),)) + self.payload_bytes()

    def to_bytes(self) -> bytes:
        self._check_payload_type()
        if isinstance(self.payload, EncryptedJoinAccept | ProprietaryPayload):
            return bytes((self.mhdr.to_byte(),)) + self.payload.data
        if len(self.mic) != MIC_LEN:
            raise EncodeError(f"MIC is 4 bytes, got {len(self.mic)}")
        return self.mic_input() + self.mic

    def with_mic(self, mic: bytes) -> PHYPayload:
        return PHYPayload(self.mhdr, self.payload, mic)

    def _check_payload_type(self) -> None:
        expected = _PAYLOAD_TYPES[self.mhdr.m_type]
        if not isinstance(self.payload, expected):
            raise EncodeError(
                f"{self.mhdr.m_type.name} carries {expected.__name__}, not {type(self.payload).__name__}"
            )

    @classmethod
    def from_bytes(cls, data: bytes) -> PHYPayload:
        """Decode any frame; raises a LoRaWANError subclass (never anything else) on bad input."""
        if not data:
            raise InvalidLength("PHYPayload", 0, "at least 1")
        data = bytes(data)
        mhdr = MHDR.from_byte(data[0])
        m_type = mhdr.m_type
        if m_type == MType.Proprietary:
            return cls(mhdr, ProprietaryPayload(data[1:]), b"")
        if m_type == MType.JoinAccept:
            if len(data) not in (17, 33):
                raise InvalidLength("JoinAccept PHYPayload", len(data), "17 or 33")
            return cls(mhdr, EncryptedJoinAccept(data[1:]), b"")
        if len(data) < 1 + MIC_LEN + 1:
            raise InvalidLength(f"{m_type.name} PHYPayload", len(data), "at least 6")
        body, mic = data[1:-MIC_LEN], data[-MIC_LEN:]
        payload: Payload
        if m_type == MType.JoinRequest:
            payload = JoinRequest.from_bytes(body)
        elif m_type == MType.RejoinRequest:
            payload = RejoinRequest.from_bytes(body)
        else:
            if len(data) < DATA_MIN_LEN:
                raise InvalidLength(f"{m_type.name} PHYPayload", len(data), f"at least {DATA_MIN_LEN}")
            payload = MACPayload.from_bytes(body, uplink=m_type.uplink)
        return cls(mhdr, payload, mic)

    @property
    def mac_payload(self) -> MACPayload:
        """The MACPayload of a data frame (DecodeError for other types), typed for callers."""
        if not isinstance(self.payload, MACPayload):
            raise DecodeError(f"{self.m_type.name} has no MACPayload")
        return self.payload


_PAYLOAD_TYPES: dict[MType, type] = {
    MType.JoinRequest: JoinRequest,
    MType.JoinAccept: EncryptedJoinAccept,
    MType.UnconfirmedDataUp: MACPayload,
    MType.UnconfirmedDataDown: MACPayload,
    MType.ConfirmedDataUp: MACPayload,
    MType.ConfirmedDataDown: MACPayload,
    MType.RejoinRequest: RejoinRequest,
    MType.Proprietary: ProprietaryPayload,
}
