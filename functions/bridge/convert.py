"""Semtech JSON (rxpk, stat, txpk, txpk_ack) <-> ChirpStack Gateway Bridge v4 JSON, pure.

The MQTT side speaks the protobuf-JSON mapping of ChirpStack's `gw` messages (lowerCamelCase names,
bytes as base64, enums by name, durations as "1.5s"), so ChirpStack tools and our network server read
the same messages; tests check them with the `chirpstack-api` package.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
from typing import Any

from functions.bridge.semtech import InvalidJSON, SemtechError

_LORA_DATR = re.compile(r"^SF(\d{1,2})BW(\d{2,4})$")
_LR_FHSS_DATR = re.compile(r"^M0CW(\d{2,4})$")
_CODE_RATES = {
    "4/5": "CR_4_5", "4/6": "CR_4_6", "4/7": "CR_4_7", "4/8": "CR_4_8", "2/3": "CR_4_6", "1/2": "CR_4_8",
    "4/5LI": "CR_LI_4_5", "4/6LI": "CR_LI_4_6", "4/8LI": "CR_LI_4_8", "OFF": "CR_UNDEFINED",
}  # fmt: skip
_SEMTECH_CODE_RATES = {v: k for k, v in _CODE_RATES.items() if k not in ("2/3", "1/2", "OFF")}
_CRC_STATUS = {1: "CRC_OK", -1: "BAD_CRC", 0: "NO_CRC"}
GPS_EPOCH = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)
TX_ACK_STATUS = ("OK", "TOO_LATE", "TOO_EARLY", "COLLISION_PACKET", "COLLISION_BEACON", "TX_FREQ", "TX_POWER",
                 "GPS_UNLOCKED", "QUEUE_FULL", "INTERNAL_ERROR", "DUTY_CYCLE_OVERFLOW")  # fmt: skip


MAX_PHY_PAYLOAD = 255  # LoRa's PHY length field is one octet; RP002's largest M (250) + MHDR + MIC = 255
_MAX_PHY_BASE64 = 4 * -(-MAX_PHY_PAYLOAD // 3)  # 340 characters: refuse longer text before decoding it


class ConversionError(SemtechError):
    """Well-formed JSON whose fields are missing, of the wrong type or out of range."""

    reason = "invalid_field"


class PayloadTooLarge(ConversionError):
    """A frame longer than any LoRa radio sends or receives (MAX_PHY_PAYLOAD octets)."""

    reason = "payload_too_large"


def _phy_payload(text: str, where: str) -> bytes:
    """The frame of an rxpk `data` or a downlink `phyPayload` (base64, padding optional as in
    PROTOCOL.TXT's own examples), at most MAX_PHY_PAYLOAD octets."""
    if len(text) > _MAX_PHY_BASE64:
        raise PayloadTooLarge(
            f"{where}: {len(text)} base64 characters, a LoRa frame is at most {MAX_PHY_PAYLOAD} octets"
        )
    try:
        phy = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConversionError(f"{where}: not base64") from exc
    if len(phy) > MAX_PHY_PAYLOAD:
        raise PayloadTooLarge(f"{where}: {len(phy)} octets, a LoRa frame is at most {MAX_PHY_PAYLOAD}")
    return phy


def _field(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConversionError(f"{where}.{name}: expected {kind}, got {value!r}")
    return value


def _modulation(rxpk: dict[str, Any], where: str) -> dict[str, Any]:
    modu = rxpk.get("modu", "LORA")
    datr = rxpk.get("datr")
    if modu == "FSK":
        if not isinstance(datr, int | float) or isinstance(datr, bool) or datr <= 0:
            raise ConversionError(f"{where}.datr: FSK needs a bit rate, got {datr!r}")
        return {"fsk": {"datarate": int(datr)}}
    if not isinstance(datr, str):
        raise ConversionError(f"{where}.datr: expected a string, got {datr!r}")
    match = _LORA_DATR.match(datr)
    if match:
        code_rate = _CODE_RATES.get(str(rxpk.get("codr", "4/5")))
        if code_rate is None:
            raise ConversionError(f"{where}.codr: unknown coding rate {rxpk.get('codr')!r}")
        return {
            "lora": {
                "bandwidth": int(match[2]) * 1000,
                "spreadingFactor": int(match[1]),
                "codeRate": code_rate,
            }
        }
    match = _LR_FHSS_DATR.match(datr)
    if match:
        return {
            "lrFhss": {
                "operatingChannelWidth": int(match[1]) * 1000,
                "codeRate": str(rxpk.get("codr", "4/6")),
            }
        }
    raise ConversionError(f"{where}.datr: not a LoRa, FSK or LR-FHSS data rate: {datr!r}")


def _time(value: Any) -> str | None:
    """rxpk `time` (ISO 8601, µs) as RFC 3339 UTC; None when absent or unparsable (it is optional)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" GMT", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _duration(milliseconds: int) -> str:
    seconds, ms = divmod(milliseconds, 1000)
    return f"{seconds}.{ms:03d}s" if ms else f"{seconds}s"


def uplink_frames(
    gateway_id: str, rxpk: dict[str, Any], *, uplink_id: int | None = None
) -> list[dict[str, Any]]:
    """gw.UplinkFrame messages for one rxpk: one per antenna when the gateway reports `rsig` (v1.6)."""
    where = "rxpk"
    phy = _phy_payload(_field(rxpk, "data", str, where), f"{where}.data")
    data = base64.b64encode(phy).decode()
    if not phy:
        raise ConversionError(f"{where}.data: empty")
    freq = _field(rxpk, "freq", (int, float), where)
    tmst = rxpk.get("tmst")
    if tmst is not None and (
        not isinstance(tmst, int) or isinstance(tmst, bool) or not 0 <= tmst <= 0xFFFFFFFF
    ):
        raise ConversionError(f"{where}.tmst: a 32-bit counter, got {tmst!r}")
    tx_info = {"frequency": round(freq * 1_000_000), "modulation": _modulation(rxpk, where)}
    base: dict[str, Any] = {
        "gatewayId": gateway_id,
        "uplinkId": uplink_id if uplink_id is not None else secrets.randbits(32),
        "rssi": int(_field(rxpk, "rssi", (int, float), where)),
        "channel": int(rxpk.get("chan", 0)),
        "rfChain": int(rxpk.get("rfch", 0)),
        "crcStatus": _CRC_STATUS.get(rxpk.get("stat", 1), "NO_CRC"),
    }
    if "lsnr" in rxpk:
        base["snr"] = float(_field(rxpk, "lsnr", (int, float), where))
    if "brd" in rxpk:
        base["board"] = int(rxpk["brd"])
    gw_time = _time(rxpk.get("time"))
    if gw_time:
        base["gwTime"] = gw_time
    if isinstance(rxpk.get("tmms"), int):
        base["timeSinceGpsEpoch"] = _duration(rxpk["tmms"])
    if tmst is not None:
        base["context"] = base64.b64encode(tmst.to_bytes(4, "big")).decode()
    signals = rxpk.get("rsig")
    rx_infos = [base]
    if isinstance(signals, list) and signals:
        rx_infos = []
        for signal in signals:
            if not isinstance(signal, dict):
                raise ConversionError(f"{where}.rsig: a list of objects")
            info = dict(
                base, antenna=int(signal.get("ant", 0)), channel=int(signal.get("chan", base["channel"]))
            )
            if "rssic" in signal:
                info["rssi"] = int(signal["rssic"])
            if "lsnr" in signal:
                info["snr"] = float(signal["lsnr"])
            rx_infos.append(info)
    return [{"phyPayload": data, "txInfo": tx_info, "rxInfo": info} for info in rx_infos]


def gateway_stats(gateway_id: str, stat: dict[str, Any]) -> dict[str, Any]:
    """gw.GatewayStats from a `stat` object (its time is "2014-01-12 08:59:28 GMT")."""
    try:
        return _gateway_stats(gateway_id, stat)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ConversionError):
            raise
        raise ConversionError(f"stat: {type(exc).__name__}: {exc}") from exc


def _gateway_stats(gateway_id: str, stat: dict[str, Any]) -> dict[str, Any]:
    stats: dict[str, Any] = {"gatewayId": gateway_id}
    time = _time(stat.get("time"))
    if time:
        stats["time"] = time
    if all(isinstance(stat.get(k), int | float) for k in ("lati", "long")):
        stats["location"] = {
            "latitude": stat["lati"],
            "longitude": stat["long"],
            "altitude": stat.get("alti", 0),
        }
    for ours, theirs in (("rxPacketsReceived", "rxnb"), ("rxPacketsReceivedOk", "rxok"),
                         ("txPacketsReceived", "dwnb"), ("txPacketsEmitted", "txnb")):  # fmt: skip
        value = stat.get(theirs)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConversionError(f"stat.{theirs}: a counter, got {value!r}")
            stats[ours] = value
    metadata = {k: str(stat[k]) for k in ("ackr", "rxfw", "temp", "boot", "fpga", "dsp", "hal") if k in stat}
    if metadata:
        stats["metadata"] = metadata
    return stats


def connection_state(gateway_id: str, online: bool) -> dict[str, Any]:
    """gw.ConnState; OFFLINE is written out (proto3 JSON would omit the zero value and confuse readers)."""
    return {"gatewayId": gateway_id, "state": "ONLINE" if online else "OFFLINE"}


def _parse_duration(text: Any, where: str) -> float:
    if not isinstance(text, str) or not text.endswith("s"):
        raise ConversionError(f"{where}: a duration like '1s', got {text!r}")
    try:
        return float(text[:-1])
    except ValueError as exc:
        raise ConversionError(f"{where}: {text!r}") from exc


def txpk(item: dict[str, Any]) -> dict[str, Any]:
    """The `txpk` for one gw.DownlinkFrameItem (ChirpStack's DelayTimingInfo: context tmst + delay)."""
    try:
        return _txpk(item)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ConversionError):
            raise
        raise ConversionError(f"downlink item: {type(exc).__name__}: {exc}") from exc


def _txpk(item: dict[str, Any]) -> dict[str, Any]:
    where = "items[]"
    phy_b64 = _field(item, "phyPayload", str, where)
    phy = _phy_payload(phy_b64, f"{where}.phyPayload")
    tx_info = _field(item, "txInfo", dict, where)
    frequency = _field(tx_info, "frequency", int, "txInfo")
    modulation = _field(tx_info, "modulation", dict, "txInfo")
    packet: dict[str, Any] = {
        "freq": round(frequency / 1_000_000, 6),
        "rfch": 0,
        "powe": int(tx_info.get("power", 14)),
        "size": len(phy),
        "data": phy_b64,
    }
    if "lora" in modulation:
        lora = modulation["lora"]
        packet |= {
            "modu": "LORA",
            "datr": f"SF{int(lora['spreadingFactor'])}BW{int(lora['bandwidth']) // 1000}",
            "codr": _SEMTECH_CODE_RATES.get(lora.get("codeRate", "CR_4_5"), "4/5"),
            "ipol": bool(lora.get("polarizationInversion", True)),
        }
    elif "fsk" in modulation:
        fsk = modulation["fsk"]
        packet |= {
            "modu": "FSK",
            "datr": int(fsk["datarate"]),
            "fdev": int(fsk.get("frequencyDeviation", 25000)),
        }
    else:
        raise ConversionError("txInfo.modulation: lora or fsk")
    timing = _field(tx_info, "timing", dict, "txInfo")
    if "immediately" in timing:
        packet["imme"] = True
    elif "delay" in timing:
        context = base64.b64decode(_field(tx_info, "context", str, "txInfo"))
        if len(context) < 4:
            raise ConversionError("txInfo.context: the 4-byte tmst of the uplink is needed for a delay")
        delay_s = _parse_duration(timing["delay"].get("delay"), "timing.delay.delay")
        packet["tmst"] = (int.from_bytes(context[:4], "big") + round(delay_s * 1_000_000)) & 0xFFFFFFFF
    elif "gpsEpoch" in timing:
        seconds = _parse_duration(timing["gpsEpoch"].get("timeSinceGpsEpoch"), "timing.gpsEpoch")
        packet["tmms"] = round(seconds * 1000)
    else:
        raise ConversionError("txInfo.timing: immediately, delay or gpsEpoch")
    if "antenna" in tx_info:
        packet["ant"] = int(tx_info["antenna"])
    if "board" in tx_info:
        packet["brd"] = int(tx_info["board"])
    return packet


def downlink_items(frame: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """The downlink id and items of a gw.DownlinkFrame; InvalidJSON when the shape is wrong."""
    items = frame.get("items")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise InvalidJSON("DownlinkFrame.items must be a non-empty list of objects")
    downlink_id = frame.get("downlinkId", 0)
    if not isinstance(downlink_id, int) or isinstance(downlink_id, bool):
        raise InvalidJSON("DownlinkFrame.downlinkId must be an integer")
    return downlink_id, items


def tx_ack_status(error: str) -> str:
    """Semtech's txpk_ack.error as gw.TxAckStatus (empty and NONE mean the frame was accepted)."""
    if error in ("", "NONE"):
        return "OK"
    return error if error in TX_ACK_STATUS else "INTERNAL_ERROR"


def downlink_tx_ack(gateway_id: str, downlink_id: int, statuses: list[str]) -> dict[str, Any]:
    """gw.DownlinkTxAck with one status per item the bridge tried (IGNORED for items not tried)."""
    return {"gatewayId": gateway_id, "downlinkId": downlink_id, "items": [{"status": s} for s in statuses]}
