"""The frame header of data frames: DevAddr, FCtrl, the 16 low bits of FCnt, and FOpts (1.1 §4.3.1)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from functions.lorawan.errors import EncodeError, InvalidLength
from functions.lorawan.types import DevAddr

MAX_F_OPTS_LEN = 15
FHDR_MIN_LEN = 7


@dataclass(frozen=True, slots=True)
class FCtrl:
    """Frame control. Bit 6 is ADRACKReq on uplinks (RFU on downlinks); bit 4 is ClassB on uplinks and
    FPending on downlinks (1.0.4 §4.3.1, 1.1 §4.3.1). `f_opts_len` is derived when encoding."""

    adr: bool = False
    adr_ack_req: bool = False
    ack: bool = False
    f_pending: bool = False
    class_b: bool = False
    f_opts_len: int = 0

    def to_byte(self, *, uplink: bool, f_opts_len: int | None = None) -> int:
        length = self.f_opts_len if f_opts_len is None else f_opts_len
        if not 0 <= length <= MAX_F_OPTS_LEN:
            raise EncodeError(f"FOptsLen must be 0..15, got {length}")
        bit4 = self.class_b if uplink else self.f_pending
        bit6 = self.adr_ack_req if uplink else False
        return (self.adr << 7) | (bit6 << 6) | (self.ack << 5) | (bit4 << 4) | length

    @classmethod
    def from_byte(cls, value: int, *, uplink: bool) -> Self:
        return cls(
            adr=bool(value & 0x80),
            adr_ack_req=bool(value & 0x40) if uplink else False,
            ack=bool(value & 0x20),
            f_pending=False if uplink else bool(value & 0x10),
            class_b=bool(value & 0x10) if uplink else False,
            f_opts_len=value & 0x0F,
        )

    def to_dict(self, *, uplink: bool) -> dict[str, bool | int]:
        fields: dict[str, bool | int] = {"adr": self.adr, "ack": self.ack, "f_opts_len": self.f_opts_len}
        if uplink:
            fields |= {"adr_ack_req": self.adr_ack_req, "class_b": self.class_b}
        else:
            fields |= {"f_pending": self.f_pending}
        return fields


@dataclass(frozen=True, slots=True)
class FHDR:
    """`f_cnt` may hold the full 32-bit counter; only its 16 low bits go on the wire."""

    dev_addr: DevAddr
    f_ctrl: FCtrl
    f_cnt: int
    f_opts: bytes = b""

    def to_bytes(self, *, uplink: bool) -> bytes:
        if len(self.f_opts) > MAX_F_OPTS_LEN:
            raise EncodeError(f"FOpts is at most 15 bytes, got {len(self.f_opts)}")
        if self.f_cnt < 0:
            raise EncodeError(f"FCnt cannot be negative: {self.f_cnt}")
        f_ctrl = self.f_ctrl.to_byte(uplink=uplink, f_opts_len=len(self.f_opts))
        return self.dev_addr.to_wire() + struct.pack("<BH", f_ctrl, self.f_cnt & 0xFFFF) + self.f_opts

    @classmethod
    def from_bytes(cls, data: bytes, *, uplink: bool) -> tuple[Self, int]:
        """Decode from the start of `data`; returns the header and how many bytes it took."""
        if len(data) < FHDR_MIN_LEN:
            raise InvalidLength("FHDR", len(data), f"at least {FHDR_MIN_LEN}")
        f_ctrl = FCtrl.from_byte(data[4], uplink=uplink)
        end = FHDR_MIN_LEN + f_ctrl.f_opts_len
        if len(data) < end:
            raise InvalidLength("FHDR with FOpts", len(data), f"at least {end}")
        (f_cnt,) = struct.unpack_from("<H", data, 5)
        return cls(DevAddr.from_wire(data[:4]), f_ctrl, f_cnt, bytes(data[FHDR_MIN_LEN:end])), end
