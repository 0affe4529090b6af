"""Station's uplink messages (`updf`, `jreq`, `rejoin`, `propdf`) -> ChirpStack gw.UplinkFrame, pure.

Station splits each frame into fields (Basics Station docs, The LNS Protocol: Uplink Data Frame, Join
Request, Proprietary Frame); the network server wants the PHYPayload, so it is put back together byte
for byte (multi-byte fields little-endian on air, LoRaWAN 1.0.4 §4). The concentrator's `xtime` and
`rctx` ride in `rxInfo.context` (16 bytes: xtime then rctx, big-endian) so a class A downlink can be
scheduled relative to the uplink, as ChirpStack's bridge does.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import struct
from typing import Any

from functions.bridge.basicstation.ids import InvalidIdentity, parse_eui
from functions.lorawan.regions import FSKModulation, LoRaModulation, Region

UPLINK_TYPES = ("updf", "jreq", "rejoin", "propdf")
GPS_EPOCH = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)


class InvalidUplink(ValueError):
    """A Station uplink message whose fields are missing, of the wrong type or out of range."""


def _int(msg: dict[str, Any], name: str, low: int, high: int) -> int:
    value = msg.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidUplink(f"{name}: an integer in [{low}, {high}], got {value!r}")
    return value


def _hex(msg: dict[str, Any], name: str) -> bytes:
    value = msg.get(name, "")
    if not isinstance(value, str):
        raise InvalidUplink(f"{name}: hex text, got {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise InvalidUplink(f"{name}: not hex") from exc


def _eui_bytes(msg: dict[str, Any], *names: str) -> bytes:
    for name in names:
        if name in msg:
            try:
                return bytes.fromhex(parse_eui(msg[name]))[::-1]
            except InvalidIdentity as exc:
                raise InvalidUplink(f"{name}: {exc}") from exc
    raise InvalidUplink(f"{names[0]} missing")


def phy_payload(msg: dict[str, Any]) -> bytes:
    """The frame Station heard, rebuilt from its fields."""
    kind = msg.get("msgtype")
    if kind == "propdf":
        frame = _hex(msg, "FRMPayload")
        if not frame:
            raise InvalidUplink("FRMPayload: empty")
        return frame
    mic = struct.pack("<i", _int(msg, "MIC", -(1 << 31), (1 << 31) - 1))
    mhdr = bytes([_int(msg, "MHdr", 0, 255)])
    if kind in ("jreq", "rejoin"):
        join_eui = _eui_bytes(msg, "JoinEui", "JoinEUI")
        dev_eui = _eui_bytes(msg, "DevEui", "DevEUI")
        dev_nonce = struct.pack("<H", _int(msg, "DevNonce", 0, 0xFFFF))
        return mhdr + join_eui + dev_eui + dev_nonce + mic
    if kind == "updf":
        dev_addr = struct.pack("<i", _int(msg, "DevAddr", -(1 << 31), (1 << 31) - 1))
        f_ctrl = _int(msg, "FCtrl", 0, 255)
        f_opts = _hex(msg, "FOpts")
        if len(f_opts) != f_ctrl & 0x0F:
            raise InvalidUplink(f"FOpts: {len(f_opts)} bytes, FCtrl says {f_ctrl & 0x0F}")
        f_cnt = struct.pack("<H", _int(msg, "FCnt", 0, 0xFFFF))
        f_port = _int(msg, "FPort", -1, 255)
        payload = _hex(msg, "FRMPayload")
        if f_port < 0 and payload:
            raise InvalidUplink("FRMPayload without FPort")
        port = b"" if f_port < 0 else bytes([f_port])
        return mhdr + dev_addr + bytes([f_ctrl]) + f_cnt + f_opts + port + payload + mic
    raise InvalidUplink(f"not an uplink message: {kind!r}")


def modulation(region: Region, dr: int) -> dict[str, Any]:
    """gw.Modulation of the region's data rate `dr` (the table router_config gave the gateway)."""
    try:
        rate = region.data_rate(dr).modulation
    except Exception as exc:  # the region raises its own InvalidDataRate
        raise InvalidUplink(f"DR{dr}: not a data rate of {region.name}") from exc
    if isinstance(rate, LoRaModulation):
        return {"lora": {"bandwidth": rate.bandwidth, "spreadingFactor": rate.spreading_factor,
                         "codeRate": "CR_4_5"}}  # fmt: skip
    if isinstance(rate, FSKModulation):
        return {"fsk": {"datarate": rate.bitrate}}
    raise InvalidUplink(f"DR{dr}: {rate} is not sent by Basics Station")


def context(xtime: int, rctx: int) -> str:
    """What a downlink needs back to be timed against this uplink."""
    return base64.b64encode(struct.pack(">qq", xtime, rctx)).decode()


def parse_context(text: str) -> tuple[int, int]:
    """(xtime, rctx) from `context`; ValueError when it is not one of ours."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 16:
        raise ValueError(f"context of {len(raw)} bytes: not a Basics Station uplink's")
    xtime, rctx = struct.unpack(">qq", raw)
    return int(xtime), int(rctx)


def _duration(microseconds: int) -> str:
    seconds, micros = divmod(microseconds, 1_000_000)
    return f"{seconds}.{micros:06d}s" if micros else f"{seconds}s"


def uplink_frame(
    gateway_id: str, msg: dict[str, Any], region: Region, *, uplink_id: int | None = None
) -> dict[str, Any]:
    """gw.UplinkFrame for one Station uplink message."""
    phy = phy_payload(msg)
    dr = _int(msg, "DR", 0, 15)
    frequency = _int(msg, "Freq", 1, 10_000_000_000)
    info = msg.get("upinfo")
    if not isinstance(info, dict):
        raise InvalidUplink("upinfo: an object")
    xtime = _int(info, "xtime", 0, (1 << 63) - 1)
    rctx = _int(info, "rctx", 0, (1 << 63) - 1) if "rctx" in info else 0
    rssi = info.get("rssi")
    snr = info.get("snr")
    if isinstance(rssi, bool) or not isinstance(rssi, int | float):
        raise InvalidUplink(f"upinfo.rssi: a number, got {rssi!r}")
    rx_info: dict[str, Any] = {
        "gatewayId": gateway_id,
        "uplinkId": uplink_id if uplink_id is not None else secrets.randbits(32),
        "rssi": int(rssi),
        "channel": 0,
        "rfChain": 0,
        "crcStatus": "CRC_OK",  # Station forwards only frames with a good CRC
        "context": context(xtime, rctx),
    }
    if isinstance(snr, int | float) and not isinstance(snr, bool):
        rx_info["snr"] = float(snr)
    rxtime = info.get("rxtime")
    if isinstance(rxtime, int | float) and not isinstance(rxtime, bool) and rxtime > 0:
        stamp = dt.datetime.fromtimestamp(rxtime, dt.UTC)
        rx_info["gwTime"] = stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
    gpstime = info.get("gpstime")
    if isinstance(gpstime, int) and not isinstance(gpstime, bool) and gpstime > 0:
        rx_info["timeSinceGpsEpoch"] = _duration(gpstime)
    tx_info = {"frequency": frequency, "modulation": modulation(region, dr)}
    return {"phyPayload": base64.b64encode(phy).decode(), "txInfo": tx_info, "rxInfo": rx_info}
