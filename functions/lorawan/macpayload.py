"""MACPayload of data frames: FHDR | FPort | FRMPayload (1.1 §4.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from functions.lorawan.errors import DecodeError, EncodeError
from functions.lorawan.fhdr import FHDR

MAX_F_PORT = 255


@dataclass(frozen=True, slots=True)
class MACPayload:
    """`f_port` is None when the frame has no FPort (and so no FRMPayload). FPort 0 carries MAC commands
    in FRMPayload, 1..223 application data, 224 the LoRaWAN test protocol, 225..255 are reserved."""

    fhdr: FHDR
    f_port: int | None = None
    frm_payload: bytes = b""

    def to_bytes(self, *, uplink: bool) -> bytes:
        header = self.fhdr.to_bytes(uplink=uplink)
        if self.f_port is None:
            if self.frm_payload:
                raise EncodeError("FRMPayload needs an FPort")
            return header
        if not 0 <= self.f_port <= MAX_F_PORT:
            raise EncodeError(f"FPort must be 0..255, got {self.f_port}")
        if self.f_port == 0 and self.fhdr.f_opts:
            raise EncodeError(
                "MAC commands go in FOpts or in FRMPayload with FPort 0, not both (1.1 §4.3.1.6)"
            )
        return header + bytes((self.f_port,)) + self.frm_payload

    @classmethod
    def from_bytes(cls, data: bytes, *, uplink: bool) -> Self:
        fhdr, used = FHDR.from_bytes(data, uplink=uplink)
        if used == len(data):
            return cls(fhdr)
        f_port = data[used]
        if f_port == 0 and fhdr.f_opts:
            raise DecodeError("FPort 0 with FOpts present: MAC commands in both places (1.1 §4.3.1.6)")
        return cls(fhdr, f_port, bytes(data[used + 1 :]))
