"""A device's counters of one hour (`functions.shared.frame_log.HourCounters`) packed in one binary
attribute of its session, which every uplink writes anyway (issue 16: the session item stays one 1 KB
write unit). A format byte, the hour (hours since the epoch, 4 bytes), the flush token (4 bytes), then one
entry per counter: a code byte (bit 7: the value is in hundredths), the code's operand, the value as a
zigzag varint. The counters `frame_recording.device_counters` makes have short codes (`up` one byte,
`f_868100000` one byte and the frequency in 100 kHz steps); any other name is spelt out, so what a later
counter adds still round-trips. SNR sums keep their tenths and quarters of a dB exactly in hundredths."""

from __future__ import annotations

import struct

from pynamodb.attributes import Attribute
from pynamodb.constants import BINARY

from functions.network.observability import logger
from functions.shared.interface import HourCounters

FORMAT = 1
HOUR = 3600
_HEADER = struct.Struct(">BII")
_HUNDREDTHS = 0x80
_NAMES = {"up": 1, "down": 2, "rssi": 3, "snr": 4, "join": 5}
_BY_CODE = {code: name for name, code in _NAMES.items()}
_DR, _F_100KHZ, _F_HZ, _OTHER = 0x10, 0x11, 0x12, 0x7F


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _zigzag(value: int) -> bytes:
    return _varint(value * 2 if value >= 0 else -value * 2 - 1)


def _read_zigzag(data: bytes, at: int) -> tuple[int, int]:
    value, at = _read_varint(data, at)
    return (value >> 1) ^ -(value & 1), at


def _name(name: str) -> bytes:
    """The code of a counter name and its operand."""
    if name in _NAMES:
        return bytes([_NAMES[name]])
    prefix, _, rest = name.partition("_")
    if prefix == "dr" and rest.isdigit() and int(rest) < 256:
        return bytes([_DR, int(rest)])
    if prefix == "f" and rest.isdigit():
        frequency = int(rest)
        return bytes([_F_100KHZ]) + _varint(frequency // 100_000) if frequency % 100_000 == 0 else (
            bytes([_F_HZ]) + _varint(frequency)
        )  # fmt: skip
    raw = name.encode()
    return bytes([_OTHER, len(raw)]) + raw


def _read_name(code: int, data: bytes, at: int) -> tuple[str, int]:
    if code in _BY_CODE:
        return _BY_CODE[code], at
    if code == _DR:
        return f"dr_{data[at]}", at + 1
    if code in (_F_100KHZ, _F_HZ):
        value, at = _read_varint(data, at)
        return f"f_{value * 100_000 if code == _F_100KHZ else value}", at
    if code == _OTHER:
        length = data[at]
        return data[at + 1 : at + 1 + length].decode(), at + 1 + length
    raise ValueError(f"unknown hour counter code {code:#x}")


def pack(hour: HourCounters) -> bytes:
    out = bytearray(_HEADER.pack(FORMAT, hour.hour // HOUR, hour.token & 0xFFFFFFFF))
    for name, value in hour.counters.items():
        whole = float(value).is_integer()
        code = _name(name)
        out += bytes([code[0] | (0 if whole else _HUNDREDTHS)]) + code[1:]
        out += _zigzag(int(value) if whole else round(value * 100))
    return bytes(out)


def unpack(data: bytes) -> HourCounters:
    version, hour, token = _HEADER.unpack_from(data)
    if version != FORMAT:
        raise ValueError(f"unknown hour counters format {version}")
    counters: dict[str, float] = {}
    at = _HEADER.size
    while at < len(data):
        code = data[at]
        name, at = _read_name(code & ~_HUNDREDTHS, data, at + 1)
        value, at = _read_zigzag(data, at)
        counters[name] = value / 100 if code & _HUNDREDTHS else float(value)
    return HourCounters(hour * HOUR, token, counters)


class HourCountersAttribute(Attribute[HourCounters]):
    attr_type = BINARY

    def serialize(self, value: HourCounters) -> bytes:
        return pack(value)

    def deserialize(self, value: bytes) -> HourCounters | None:  # the attribute is null=True
        """A blob this code cannot read (a later format, a damaged item) costs the hour's counters, never
        the session: a raise here would fail every uplink of every device sharing its DevAddr."""
        try:
            return unpack(value)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
            logger.warning(
                "unreadable hour counters dropped", extra={"reason": str(exc), "bytes": len(value)}
            )
            return None
