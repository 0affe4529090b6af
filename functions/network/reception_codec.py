"""A reception as the UplinkCollection item carries it (functions/network/dedup.py): compact, because
every write on the item is billed by its size in 1 KB units (a second reception in the old form passed
1 KB, so each further copy cost 2 write units), and decoded back to the same `Reception`.

- The PHYPayload and the topic prefix are not written: every reception of a collection has the same
  (its key is their hash), and the invocation that reads them all has its own reception of the frame.
- The attribute name already says the gateway and the uplink id (`rx:<gateway>:<uplink id>`).
- The value is a JSON array: RSSI, SNR, data rate, frequency, context, received-at, a bit mask of the
  `rxInfo`/`txInfo` fields that repeat those (so they are not written twice) and of whether the
  gateway is watched, then what is left of
  `rxInfo` and `txInfo` with ChirpStack's field names shortened (`SHORT`); a name not in the table is
  kept, marked with `~`, so nothing a gateway bridge sends is lost.
Values in the old form (a JSON object with every field, `Reception.to_dict`) are still read: items live a
minute, and a deployment replaces functions while they do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.network.receptions import Reception

# ChirpStack v4 gw.UplinkRxInfo / gw.UplinkTxInfo field names (JSON), each with a code of its own.
SHORT = {
    "channel": "c",
    "rfChain": "r",
    "crcStatus": "s",
    "board": "b",
    "antenna": "a",
    "gwTime": "t",
    "nsTime": "n",
    "timeSinceGpsEpoch": "g",
    "fineTimeSinceGpsEpoch": "fg",
    "rssi": "rs",
    "snr": "sn",
    "location": "l",
    "latitude": "la",
    "longitude": "ln",
    "altitude": "al",
    "source": "so",
    "accuracy": "ac",
    "metadata": "md",
    "context": "cx",
    "gatewayId": "gw",
    "uplinkId": "u",
    "frequency": "f",
    "modulation": "m",
    "lora": "lr",
    "fsk": "fs",
    "lrFhss": "lh",
    "bandwidth": "bw",
    "spreadingFactor": "sf",
    "codeRate": "cr",
    "datarate": "dr",
    "operatingChannelWidth": "ow",
    "polarizationInversion": "pi",
}
LONG = {code: name for name, code in SHORT.items()}
assert len(LONG) == len(SHORT), "every field needs a code of its own"
_UNKNOWN = "~"
# the common enum values as numbers (an enum already sent as a number is kept under its `~` name)
_VALUES = {"crcStatus": {"CRC_OK": 1}, "codeRate": {"CR_4_5": 5, "CR_4_6": 6, "CR_4_7": 7, "CR_4_8": 8}}
_NAMES = {field: {number: text for text, number in values.items()} for field, values in _VALUES.items()}

# Fields of rxInfo / txInfo that repeat the reception's own, written once (bit set: present and equal)
_GATEWAY_ID, _UPLINK_ID, _RSSI, _SNR, _CONTEXT, _FREQUENCY = 1, 2, 4, 8, 16, 32
_WATCHED = 64  # and in the same mask: `Reception.gateway_watched`


def _shorten(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in value.items():
        code = SHORT.get(name, _UNKNOWN + name)
        if isinstance(item, dict):
            out[code] = _shorten(item)
        elif name in _VALUES and isinstance(item, str) and item in _VALUES[name]:
            out[code] = _VALUES[name][item]
        elif name in _VALUES:
            out[_UNKNOWN + name] = item
        else:
            out[code] = item
    return out


def _lengthen(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code, item in value.items():
        name = code[1:] if code.startswith(_UNKNOWN) else LONG[code]
        if isinstance(item, dict):
            out[name] = _lengthen(item)
        elif name in _NAMES and not code.startswith(_UNKNOWN):
            out[name] = _NAMES[name][item]
        else:
            out[name] = item
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _time_text(microseconds: int) -> str:
    return (_EPOCH + microseconds * _MICROSECOND).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _time_number(text: object) -> int | None:
    """`gwTime` as microseconds since the epoch, when that gives the same text back (RFC 3339 UTC with
    six digits, as both bridges write it); None otherwise (then the text is kept)."""
    if not isinstance(text, str):
        return None
    try:
        microseconds = (datetime.fromisoformat(text.replace("Z", "+00:00")) - _EPOCH) // _MICROSECOND
    except (ValueError, TypeError):
        return None
    return microseconds if _time_text(microseconds) == text else None


def _lora(tx: dict[str, Any]) -> list[int] | None:
    """A LoRa `txInfo` (the frequency taken out) as [spreading factor, bandwidth, code rate]."""
    lora = tx.get("modulation", {}).get("lora") if list(tx) == ["modulation"] else None
    if not isinstance(lora, dict) or sorted(lora) != ["bandwidth", "codeRate", "spreadingFactor"]:
        return None
    sf, bw, code_rate = lora["spreadingFactor"], lora["bandwidth"], lora["codeRate"]
    if list(tx["modulation"]) != ["lora"] or code_rate not in _VALUES["codeRate"]:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (sf, bw)):
        return None
    return [sf, bw, _VALUES["codeRate"][code_rate]]


def _take(info: dict[str, Any], name: str, own: object, bit: int, kind: type | tuple[type, ...]) -> int:
    """Remove `name` from `info` when it repeats the reception's own value; the bit that says so."""
    value = info.get(name)
    if not isinstance(value, bool) and isinstance(value, kind) and value == own:
        del info[name]
        return bit
    return 0


def pack(reception: Reception) -> str:
    """The value of the reception's `rx:` attribute (the attribute name carries gateway and uplink id)."""
    rx, tx = dict(reception.rx_info), dict(reception.tx_info)
    present = (
        _take(rx, "gatewayId", reception.gateway_id, _GATEWAY_ID, str)
        | _take(rx, "uplinkId", reception.uplink_id, _UPLINK_ID, int)
        | _take(rx, "rssi", reception.rssi, _RSSI, int)
        | _take(rx, "snr", reception.snr, _SNR, (int, float))
        | _take(rx, "context", reception.context, _CONTEXT, str)
        | _take(tx, "frequency", reception.frequency, _FREQUENCY, int)
        | (_WATCHED if reception.gateway_watched else 0)
    )
    gw_time = _time_number(rx.get("gwTime"))
    if gw_time is not None:
        rx["gwTime"] = gw_time
    snr: float | int = int(reception.snr) if reception.snr == int(reception.snr) else reception.snr
    value = [
        reception.rssi, snr, reception.data_rate, reception.frequency, reception.context,
        reception.received_at_ms, present, _shorten(rx), _lora(tx) or _shorten(tx),
    ]  # fmt: skip
    return json.dumps(value, separators=(",", ":"))


def _restore(info: dict[str, Any], present: int, fields: list[tuple[int, str, object]]) -> dict[str, Any]:
    """rxInfo / txInfo with the repeated fields back, in ChirpStack's order (theirs first)."""
    out = {name: value for bit, name, value in fields if present & bit}
    return out | info


def unpack(key: str, value: str, *, phy_payload: bytes, topic_prefix: str) -> Reception:
    """The reception of attribute `rx:<key>` (`Reception.key`: gateway id and uplink id) and its value,
    in either form."""
    decoded = json.loads(value)
    if isinstance(decoded, dict):  # the old form: everything in the value
        return Reception.from_dict(decoded)
    rssi, snr, data_rate, frequency, context, received_at_ms, present, rx, tx = decoded
    gateway_id, _, uplink_id = key.rpartition(":")
    rx_info = _lengthen(rx)
    if isinstance(rx_info.get("gwTime"), int):
        rx_info["gwTime"] = _time_text(rx_info["gwTime"])
    if isinstance(tx, list):
        sf, bw, code_rate = tx
        lora = {"bandwidth": bw, "spreadingFactor": sf, "codeRate": _NAMES["codeRate"][code_rate]}
        tx_info = {"modulation": {"lora": lora}}
    else:
        tx_info = _lengthen(tx)
    rx_fields: list[tuple[int, str, object]] = [
        (_GATEWAY_ID, "gatewayId", gateway_id),
        (_UPLINK_ID, "uplinkId", int(uplink_id)),
        (_RSSI, "rssi", rssi),
        (_SNR, "snr", float(snr)),
        (_CONTEXT, "context", context),
    ]
    return Reception(
        phy_payload=phy_payload,
        gateway_id=gateway_id,
        topic_prefix=topic_prefix,
        uplink_id=int(uplink_id),
        frequency=int(frequency),
        data_rate=int(data_rate),
        rssi=int(rssi),
        snr=float(snr),
        context=str(context),
        received_at_ms=int(received_at_ms),
        rx_info=_restore(rx_info, present, rx_fields),
        tx_info=_restore(tx_info, present, [(_FREQUENCY, "frequency", frequency)]),
        gateway_watched=bool(present & _WATCHED),
    )
