"""The ADR history of a session (the last 20 uplinks, `functions/lorawan/adr.py`) packed in one binary
attribute: a format byte, then 8 bytes an uplink (FCnt, max SNR in centi-dB, TX power index, gateway
count), 161 bytes for a full history where a list of 20 maps took about 1,200 of the session item's
1 KB write unit. SNRs are reported in tenths (Semtech `lsnr`) or quarters of a dB: centi-dB keeps them
exactly."""

from __future__ import annotations

import struct
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.constants import BINARY

from functions.lorawan.adr import UplinkRecord
from functions.network.observability import logger

FORMAT = 1
_ENTRY = struct.Struct(">IhBB")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def pack(history: list[UplinkRecord]) -> bytes:
    return bytes([FORMAT]) + b"".join(
        _ENTRY.pack(
            r.f_cnt & 0xFFFFFFFF,
            _clamp(round(r.max_snr * 100), -32768, 32767),
            _clamp(r.tx_power_index, 0, 255),
            _clamp(r.gateway_count, 0, 255),
        )
        for r in history
    )


def unpack(data: bytes) -> list[UplinkRecord]:
    if not data:
        return []
    if data[0] != FORMAT:
        raise ValueError(f"unknown uplink history format {data[0]}")
    return [
        UplinkRecord(f_cnt, snr / 100, tx_power_index, gateway_count)
        for f_cnt, snr, tx_power_index, gateway_count in _ENTRY.iter_unpack(data[1:])
    ]


def from_legacy(value: dict[str, Any]) -> dict[str, Any]:
    """The packed attribute value from the list of maps sessions stored before (DynamoDB JSON)."""
    records = [
        UplinkRecord(
            int(m["f_cnt"]["N"]),
            float(m["max_snr"]["N"]),
            int(m["tx_power_index"]["N"]),
            int(m.get("gateway_count", {"N": "1"})["N"]),
        )
        for m in (entry["M"] for entry in value.get("L", []))
    ]
    return {BINARY: pack(records)}


class UplinkHistoryAttribute(Attribute[list[UplinkRecord]]):
    attr_type = BINARY

    def serialize(self, value: list[UplinkRecord]) -> bytes:
        return pack(list(value))

    def deserialize(self, value: bytes) -> list[UplinkRecord]:
        """A blob this code cannot read costs the ADR history (ADR starts over), never the session."""
        try:
            return unpack(value)
        except (ValueError, IndexError, struct.error) as exc:
            logger.warning("unreadable ADR history dropped", extra={"reason": str(exc), "bytes": len(value)})
            return []
