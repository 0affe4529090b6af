"""Join messages: JoinRequest, JoinAccept (its plaintext payload) and RejoinRequest types 0, 1, 2
(LoRaWAN 1.0.4 §6.2, 1.1 §6.2). Identifiers are typed; nonces and counters are integers."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from functions.lorawan.errors import DecodeError, EncodeError, InvalidLength
from functions.lorawan.types import EUI64, DevAddr, NetID

JOIN_REQUEST_LEN = 18
JOIN_ACCEPT_LEN = 12
CF_LIST_LEN = 16
REJOIN_0_2_LEN = 14
REJOIN_1_LEN = 19


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """JoinEUI | DevEUI | DevNonce (1.1 §6.2.4; JoinEUI was AppEUI in 1.0)."""

    join_eui: EUI64
    dev_eui: EUI64
    dev_nonce: int

    def to_bytes(self) -> bytes:
        if not 0 <= self.dev_nonce <= 0xFFFF:
            raise EncodeError(f"DevNonce must be 16 bits, got {self.dev_nonce}")
        return self.join_eui.to_wire() + self.dev_eui.to_wire() + struct.pack("<H", self.dev_nonce)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) != JOIN_REQUEST_LEN:
            raise InvalidLength("JoinRequest", len(data), str(JOIN_REQUEST_LEN))
        (dev_nonce,) = struct.unpack_from("<H", data, 16)
        return cls(EUI64.from_wire(data[:8]), EUI64.from_wire(data[8:16]), dev_nonce)


@dataclass(frozen=True, slots=True)
class DLSettings:
    """OptNeg (1.1: the network speaks 1.1), RX1DRoffset, RX2 data rate (1.1 §6.2.3)."""

    opt_neg: bool = False
    rx1_dr_offset: int = 0
    rx2_dr: int = 0

    def to_byte(self) -> int:
        if not 0 <= self.rx1_dr_offset <= 0x07 or not 0 <= self.rx2_dr <= 0x0F:
            raise EncodeError(
                f"RX1DRoffset 0..7 and RX2DataRate 0..15, got {self.rx1_dr_offset}, {self.rx2_dr}"
            )
        return (self.opt_neg << 7) | (self.rx1_dr_offset << 4) | self.rx2_dr

    @classmethod
    def from_byte(cls, value: int) -> Self:
        return cls(opt_neg=bool(value & 0x80), rx1_dr_offset=(value >> 4) & 0x07, rx2_dr=value & 0x0F)


@dataclass(frozen=True, slots=True)
class JoinAccept:
    """The decrypted JoinAccept MACPayload: JoinNonce | NetID | DevAddr | DLSettings | RxDelay | [CFList].

    `rx_delay` is the wire value: 0 and 1 both mean 1 s (1.0.4 §5.7).
    """

    join_nonce: int
    net_id: NetID
    dev_addr: DevAddr
    dl_settings: DLSettings
    rx_delay: int
    cf_list: bytes | None = None

    def to_bytes(self) -> bytes:
        if not 0 <= self.join_nonce <= 0xFFFFFF:
            raise EncodeError(f"JoinNonce must be 24 bits, got {self.join_nonce}")
        if not 0 <= self.rx_delay <= 0x0F:
            raise EncodeError(f"RxDelay must be 0..15, got {self.rx_delay}")
        if self.cf_list is not None and len(self.cf_list) != CF_LIST_LEN:
            raise EncodeError(f"CFList is 16 bytes, got {len(self.cf_list)}")
        return (
            self.join_nonce.to_bytes(3, "little")
            + self.net_id.to_wire()
            + self.dev_addr.to_wire()
            + bytes((self.dl_settings.to_byte(), self.rx_delay))
            + (self.cf_list or b"")
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) not in (JOIN_ACCEPT_LEN, JOIN_ACCEPT_LEN + CF_LIST_LEN):
            raise InvalidLength("JoinAccept MACPayload", len(data), "12 or 28")
        return cls(
            join_nonce=int.from_bytes(data[:3], "little"),
            net_id=NetID.from_wire(data[3:6]),
            dev_addr=DevAddr.from_wire(data[6:10]),
            dl_settings=DLSettings.from_byte(data[10]),
            rx_delay=data[11] & 0x0F,
            cf_list=bytes(data[12:]) if len(data) > JOIN_ACCEPT_LEN else None,
        )

    @property
    def rx1_delay_seconds(self) -> int:
        return max(1, self.rx_delay)


@dataclass(frozen=True, slots=True)
class RejoinRequest:
    """RejoinRequest (1.1 §6.2.4.1): types 0 and 2 carry NetID | DevEUI | RJcount0, type 1 carries
    JoinEUI | DevEUI | RJcount1. Exactly one of `net_id` / `join_eui` is set, as the type requires."""

    rejoin_type: int
    dev_eui: EUI64
    rj_count: int
    net_id: NetID | None = None
    join_eui: EUI64 | None = None

    def to_bytes(self) -> bytes:
        if not 0 <= self.rj_count <= 0xFFFF:
            raise EncodeError(f"RJcount must be 16 bits, got {self.rj_count}")
        if self.rejoin_type in (0, 2):
            if self.net_id is None:
                raise EncodeError(f"RejoinRequest type {self.rejoin_type} needs a NetID")
            body = self.net_id.to_wire()
        elif self.rejoin_type == 1:
            if self.join_eui is None:
                raise EncodeError("RejoinRequest type 1 needs a JoinEUI")
            body = self.join_eui.to_wire()
        else:
            raise EncodeError(f"RejoinRequest type must be 0, 1 or 2, got {self.rejoin_type}")
        return bytes((self.rejoin_type,)) + body + self.dev_eui.to_wire() + struct.pack("<H", self.rj_count)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if not data:
            raise InvalidLength("RejoinRequest", 0, "14 or 19")
        rejoin_type = data[0]
        if rejoin_type in (0, 2):
            if len(data) != REJOIN_0_2_LEN:
                raise InvalidLength(f"RejoinRequest type {rejoin_type}", len(data), str(REJOIN_0_2_LEN))
            (rj_count,) = struct.unpack_from("<H", data, 12)
            return cls(rejoin_type, EUI64.from_wire(data[4:12]), rj_count, net_id=NetID.from_wire(data[1:4]))
        if rejoin_type == 1:
            if len(data) != REJOIN_1_LEN:
                raise InvalidLength("RejoinRequest type 1", len(data), str(REJOIN_1_LEN))
            (rj_count,) = struct.unpack_from("<H", data, 17)
            return cls(1, EUI64.from_wire(data[9:17]), rj_count, join_eui=EUI64.from_wire(data[1:9]))
        raise DecodeError(f"RejoinRequest type {rejoin_type} is not defined (0, 1, 2)")
