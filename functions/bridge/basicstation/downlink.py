"""ChirpStack gw.DownlinkFrame -> Station's `dnmsg`, and Station's `dntxed` -> gw.DownlinkTxAck, pure.

Class A (timing `delay`): one `dnmsg` carries both windows: RX1 (`RX1DR`/`RX1Freq`, `RxDelay` seconds
after the uplink's `xtime`) and RX2 (`RX2DR`/`RX2Freq`, a second later); Station falls back to RX2 by
itself when RX1 cannot be sent (Basics Station docs, The LNS Protocol: Downlink Messages). Class C
(timing `immediately`): `dC` 2 with the RX2 fields only, sent as soon as possible on the antenna
`rctx` names. Class B (timing `gpsEpoch`): `dC` 1 with `gpstime`. DR indices are those of the
region's table that `router_config` gave the gateway.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any

from functions.bridge.basicstation.uplink import parse_context
from functions.lorawan.regions import FSKModulation, LoRaModulation, Modulation, Region

# Station requires a DevEui in `dnmsg` and reports `dntxed` only for a non-zero one; the gateway
# message does not carry the device's EUI, so a fixed placeholder stands in (ChirpStack's bridge
# does the same).
PLACEHOLDER_DEV_EUI = "01-01-01-01-01-01-01-01"


class InvalidDownlink(ValueError):
    """A DownlinkFrame this gateway cannot be given."""


@dataclass(frozen=True)
class Window:
    frequency: int
    dr: int


@dataclass(frozen=True)
class PlannedDownlink:
    """A `dnmsg` and the windows it offers, to tell which item a `dntxed` confirms."""

    diid: int
    message: dict[str, Any]
    windows: tuple[Window, ...]


def _modulation(tx_info: dict[str, Any]) -> Modulation:
    modulation = tx_info.get("modulation")
    if not isinstance(modulation, dict):
        raise InvalidDownlink("txInfo.modulation: an object")
    if isinstance(modulation.get("lora"), dict):
        lora = modulation["lora"]
        return LoRaModulation(int(lora["spreadingFactor"]), int(lora["bandwidth"]))
    if isinstance(modulation.get("fsk"), dict):
        return FSKModulation(int(modulation["fsk"]["datarate"]))
    raise InvalidDownlink("txInfo.modulation: lora or fsk")


def window(region: Region, item: dict[str, Any]) -> Window:
    tx_info = item.get("txInfo")
    if not isinstance(tx_info, dict):
        raise InvalidDownlink("txInfo: an object")
    frequency = tx_info.get("frequency")
    if isinstance(frequency, bool) or not isinstance(frequency, int) or frequency <= 0:
        raise InvalidDownlink(f"txInfo.frequency: {frequency!r}")
    try:
        dr = region.data_rate_index(_modulation(tx_info), uplink=False)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidDownlink(f"txInfo.modulation: no {region.name} data rate: {exc}") from exc
    return Window(frequency, dr)


def _delay_s(tx_info: dict[str, Any]) -> int:
    text = tx_info["timing"]["delay"].get("delay", "1s")
    if not isinstance(text, str) or not text.endswith("s"):
        raise InvalidDownlink(f"timing.delay.delay: {text!r}")
    return max(1, round(float(text[:-1])))


def _phy_hex(item: dict[str, Any]) -> str:
    payload = item.get("phyPayload")
    if not isinstance(payload, str):
        raise InvalidDownlink("phyPayload: base64 text")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidDownlink("phyPayload: not base64") from exc
    if not 0 < len(raw) <= 255:
        raise InvalidDownlink(f"phyPayload: {len(raw)} bytes")
    return raw.hex().upper()


def dnmsg(
    region: Region, frame: dict[str, Any], *, last_rctx: int = 0, now: float | None = None
) -> PlannedDownlink:
    """The `dnmsg` for a gw.DownlinkFrame (items: RX1 then RX2 for class A; one item otherwise)."""
    items = frame.get("items")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise InvalidDownlink("items: a non-empty list of objects")
    diid = frame.get("downlinkId", 0)
    if isinstance(diid, bool) or not isinstance(diid, int) or diid < 0:
        raise InvalidDownlink(f"downlinkId: {diid!r}")
    first = items[0]
    tx_info = first.get("txInfo")
    if not isinstance(tx_info, dict) or not isinstance(tx_info.get("timing"), dict):
        raise InvalidDownlink("txInfo.timing: an object")
    timing = tx_info["timing"]
    message: dict[str, Any] = {
        "msgtype": "dnmsg",
        "DevEui": PLACEHOLDER_DEV_EUI,
        "diid": diid,
        "pdu": _phy_hex(first),
        "priority": 0,
        "MuxTime": time.time() if now is None else now,
    }
    windows: list[Window] = []
    try:
        if "delay" in timing:
            xtime, rctx = parse_context(str(tx_info.get("context", "")))
            rx1 = window(region, first)
            message |= {"dC": 0, "xtime": xtime, "rctx": rctx, "RxDelay": _delay_s(tx_info),
                        "RX1DR": rx1.dr, "RX1Freq": rx1.frequency}  # fmt: skip
            windows.append(rx1)
            if len(items) > 1:
                rx2 = window(region, items[1])
                message |= {"RX2DR": rx2.dr, "RX2Freq": rx2.frequency}
                windows.append(rx2)
        elif "immediately" in timing:
            now_window = window(region, first)
            message |= {"dC": 2, "rctx": last_rctx, "RxDelay": 1,
                        "RX2DR": now_window.dr, "RX2Freq": now_window.frequency}  # fmt: skip
            windows.append(now_window)
        elif "gpsEpoch" in timing:
            ping = window(region, first)
            text = timing["gpsEpoch"].get("timeSinceGpsEpoch", "")
            if not isinstance(text, str) or not text.endswith("s"):
                raise InvalidDownlink(f"timing.gpsEpoch: {text!r}")
            message |= {"dC": 1, "rctx": last_rctx, "RxDelay": 1, "gpstime": round(float(text[:-1]) * 1e6),
                        "RX1DR": ping.dr, "RX1Freq": ping.frequency}  # fmt: skip
            windows.append(ping)
        else:
            raise InvalidDownlink("txInfo.timing: delay, immediately or gpsEpoch")
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        if isinstance(exc, InvalidDownlink):
            raise
        raise InvalidDownlink(f"{type(exc).__name__}: {exc}") from exc
    return PlannedDownlink(diid, message, tuple(windows))


def tx_ack(
    gateway_id: str, planned: PlannedDownlink, dntxed: dict[str, Any], item_count: int
) -> dict[str, Any]:
    """gw.DownlinkTxAck: OK for the window Station sent in (told by frequency and DR), IGNORED for the
    others (Station reports only frames it sent)."""
    sent = Window(int(dntxed.get("Freq", 0)), int(dntxed.get("DR", -1)))
    index = next((i for i, w in enumerate(planned.windows) if w == sent), 0)
    statuses = ["IGNORED"] * item_count
    statuses[index] = "OK"
    return {"gatewayId": gateway_id, "downlinkId": planned.diid, "items": [{"status": s} for s in statuses]}
