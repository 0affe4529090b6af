"""Cayenne Low Power Payload (myDevices): `channel, type, value` repeated, values big-endian with a fixed
size and resolution per type (IPSO Smart Objects; the extended types of the ElectronicCats library).

The object shape and the type table are ChirpStack v4's built-in codec: `{"temperatureSensor": {"3": 27.2}}`,
multi-value types as `{"accelerometer": {"6": {"x": 1.234, "y": -1.234, "z": 0.0}}}`. Two differences,
both stricter: a trailing partial header is an error (ChirpStack ignores it), and encoding rounds to the
nearest step and rejects out-of-range values (ChirpStack truncates and saturates, so 42.3519° becomes
42.3518°).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.appserver.codecs.errors import CayenneLPPError


@dataclass(frozen=True)
class Field:
    name: str  # "" for a single-value type: the channel maps to the number itself
    size: int  # bytes, big-endian
    divisor: int  # value = raw / divisor
    signed: bool


@dataclass(frozen=True)
class LPPType:
    code: int
    name: str  # ChirpStack v4's object key
    fields: tuple[Field, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.fields)


def _one(code: int, name: str, size: int, divisor: int = 1, *, signed: bool = False) -> LPPType:
    return LPPType(code, name, (Field("", size, divisor, signed),))


def _xyz(code: int, name: str, divisor: int) -> LPPType:
    return LPPType(code, name, tuple(Field(axis, 2, divisor, True) for axis in "xyz"))


TYPES: dict[int, LPPType] = {
    t.code: t
    for t in (
        _one(0, "digitalInput", 1),
        _one(1, "digitalOutput", 1),
        _one(2, "analogInput", 2, 100, signed=True),
        _one(3, "analogOutput", 2, 100, signed=True),
        _one(100, "genericSensor", 4),
        _one(101, "illuminanceSensor", 2),  # lux
        _one(102, "presenceSensor", 1),
        _one(103, "temperatureSensor", 2, 10, signed=True),  # °C
        _one(104, "humiditySensor", 1, 2),  # % RH
        _xyz(113, "accelerometer", 1000),  # G
        _one(115, "barometer", 2, 10),  # hPa
        _one(116, "voltage", 2, 100),  # V
        _one(117, "current", 2, 1000),  # A
        _one(118, "frequency", 4),  # Hz
        _one(120, "percentage", 1),
        _one(121, "altitude", 2, signed=True),  # m
        _one(125, "concentration", 2),  # ppm
        _one(128, "power", 2),  # W
        _one(130, "distance", 4, 1000),  # m
        _one(131, "energy", 4, 1000),  # kWh
        _one(132, "direction", 2),  # degrees
        _one(133, "unix_time", 4),  # ChirpStack's spelling
        _xyz(134, "gyrometer", 100),  # °/s
        LPPType(135, "color", tuple(Field(c, 1, 1, False) for c in "rgb")),
        LPPType(
            136,
            "gpsLocation",
            (
                Field("latitude", 3, 10_000, True),  # degrees
                Field("longitude", 3, 10_000, True),
                Field("altitude", 3, 100, True),  # m
            ),
        ),
        _one(142, "switch", 1),
    )
}
BY_NAME: dict[str, LPPType] = {t.name: t for t in TYPES.values()}


def decode(payload: bytes) -> dict[str, Any]:
    """Decode a whole payload; raises CayenneLPPError on an unknown type or truncated input."""
    result: dict[str, Any] = {}
    position = 0
    while position < len(payload):
        if position + 2 > len(payload):
            raise CayenneLPPError(f"truncated CayenneLPP header at byte {position}")
        channel, code = payload[position], payload[position + 1]
        lpp = TYPES.get(code)
        if lpp is None:
            raise CayenneLPPError(f"unknown CayenneLPP type 0x{code:02x} at byte {position + 1}")
        offset = position + 2
        if offset + lpp.size > len(payload):
            raise CayenneLPPError(
                f"truncated CayenneLPP {lpp.name} on channel {channel}: needs {lpp.size} bytes, "
                f"{len(payload) - offset} left"
            )
        values: dict[str, int | float] = {}
        for field in lpp.fields:
            raw = int.from_bytes(payload[offset : offset + field.size], "big", signed=field.signed)
            values[field.name] = raw / field.divisor if field.divisor != 1 else raw
            offset += field.size
        result.setdefault(lpp.name, {})[str(channel)] = values.get("", values)
        position = offset
    return result


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CayenneLPPError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _channel(key: Any, where: str) -> int:
    try:
        channel = int(key)
    except (TypeError, ValueError):
        raise CayenneLPPError(f"{where}: channel {key!r} is not a number") from None
    if not 0 <= channel <= 255:
        raise CayenneLPPError(f"{where}: channel {channel} outside 0..255")
    return channel


def encode(obj: Mapping[str, Any]) -> bytes:
    """Encode a ChirpStack-shaped object; CayenneLPPError on unknown keys, bad or out-of-range values."""
    out = bytearray()
    for name, channels in obj.items():
        lpp = BY_NAME.get(name)
        if lpp is None:
            raise CayenneLPPError(f"unknown CayenneLPP key {name!r}")
        if not isinstance(channels, Mapping):
            raise CayenneLPPError(f"{name}: expected an object of channels, got {channels!r}")
        for key, value in channels.items():
            where = f"{name}.{key}"
            out += bytes((_channel(key, where), lpp.code))
            for field in lpp.fields:
                if field.name:
                    if not isinstance(value, Mapping) or field.name not in value:
                        raise CayenneLPPError(f"{where}: missing {field.name!r}")
                    item, at = value[field.name], f"{where}.{field.name}"
                else:
                    item, at = value, where
                raw = round(_number(item, at) * field.divisor)
                try:
                    out += raw.to_bytes(field.size, "big", signed=field.signed)
                except OverflowError:
                    raise CayenneLPPError(f"{at}: {item!r} does not fit {lpp.name}") from None
    return bytes(out)
