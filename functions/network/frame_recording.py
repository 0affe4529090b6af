"""What the network server tells the frame logs and metrics (functions/shared/frame_log.py). A data
uplink's device counters ride on its session write (`device_counters`, functions/network/uplink/hour.py),
so it writes nothing here unless someone watches; other frames of a device (a join, a rejected frame, a TX
acknowledgement, a class C downlink) add theirs to its hour bucket, one update each. The full frame, with
every gateway's reception, the downlink's windows and its TX acknowledgement, is logged only while someone
watches. A gateway's counters come from its own `stats` reports (functions/network/gateways.py), as
ChirpStack counts them, so a gateway copy of a frame adds no write: whether someone watches a gateway is
the flag its copy read with its registration (`Reception.gateway_watched`,
functions/network/gateway_registry.py). Frames the network rejected (bad MIC, unknown DevAddr, replay) go
to the watched gateways' logs with the reason, so a forged frame is visible where it arrived."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.network import gateway_registry
from functions.network.receptions import Reception
from functions.shared import frame_log
from functions.shared.frame_log import counter_name, device_subject, gateway_subject


@dataclass(frozen=True)
class SentDownlink:
    """A downlink handed to a gateway: its PHYPayload, MAC commands in clear, and the gw.DownlinkFrame
    (items = the windows to try in order)."""

    phy_payload: bytes
    frame: dict[str, Any]
    region: Region
    mac_commands: bytes = b""

    @property
    def gateway_id(self) -> str:
        return str(self.frame.get("gatewayId", ""))

    def windows(self) -> list[dict[str, Any]]:
        """The TX parameters of each window: RX1 then RX2 for class A, one immediate for class C."""
        out = []
        for index, item in enumerate(self.frame.get("items", [])):
            tx = item.get("txInfo", {})
            timing = tx.get("timing", {})
            lora = tx.get("modulation", {}).get("lora")
            window: dict[str, Any] = {
                "window": "immediately" if "immediately" in timing else f"RX{index + 1}",
                "frequency": tx.get("frequency"),
                "power": tx.get("power"),
                "dr": self._data_rate(lora),
            }
            if lora:
                window |= {
                    "spreading_factor": lora.get("spreadingFactor"),
                    "bandwidth": lora.get("bandwidth"),
                }
            delay = timing.get("delay", {}).get("delay")
            if delay:
                window["delay"] = delay
            out.append(window)
        return out

    def _data_rate(self, lora: dict[str, Any] | None) -> int | None:
        if not lora:
            return None
        for index, data_rate in self.region.data_rates.items():
            modulation = data_rate.modulation
            if (
                isinstance(modulation, LoRaModulation)
                and modulation.spreading_factor == lora.get("spreadingFactor")
                and modulation.bandwidth == lora.get("bandwidth")
            ):
                return index
        return None


@dataclass
class _Subjects:
    """Counters per subject, added with one update each; and what to log where, if watched."""

    counters: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    entries: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    watched: set[str] = field(default_factory=set)  # subjects known to be watched without a counter update

    def count(self, subject: str, *names: str, value: float = 1) -> None:
        for name in names:
            bucket = self.counters[subject]
            bucket[name] = bucket.get(name, 0) + value

    def log(self, subject: str, kind: str, body: dict[str, Any]) -> None:
        self.counters.setdefault(subject, {})
        self.entries[subject].append((kind, body))

    def log_if_watched(self, subject: str, watched: bool, kind: str, body: dict[str, Any]) -> None:
        """An entry of a subject without counters here (a gateway): logged only if `watched`."""
        if watched:
            self.watched.add(subject)
            self.entries[subject].append((kind, body))

    def flush(self, now: float) -> set[str]:
        """Add every subject's counters; log its entries if someone watches it; the watched subjects."""
        watched = set(self.watched)
        for subject, counters in self.counters.items():
            if frame_log.add(subject, counters, now=now):
                watched.add(subject)
        for subject in watched:
            for order, (kind, body) in enumerate(self.entries.get(subject, [])):
                frame_log.record(subject, kind, body, now=now, order=order)
        return watched


def _reception(r: Reception) -> dict[str, Any]:
    return {
        "gateway_id": r.gateway_id,
        "rssi": r.rssi,
        "snr": r.snr,
        "frequency": r.frequency,
        "dr": r.data_rate,
        "received_at_ms": r.received_at_ms,
    }


def _downlink_body(dev_eui: str | None, sent: SentDownlink) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phy_payload": sent.phy_payload.hex(),
        "gateway_id": sent.gateway_id,
        "downlink_id": sent.frame.get("downlinkId"),
        "windows": sent.windows(),
    }
    if dev_eui:
        body["dev_eui"] = dev_eui
    if sent.mac_commands:
        body["mac_commands"] = sent.mac_commands.hex()
    return body


def _count_downlink(
    subjects: _Subjects, dev_eui: str | None, sent: SentDownlink, gateway_watched: bool,
    device_counted: bool = False, device_watched: bool = False,
) -> None:  # fmt: skip
    """The device counts the downlink (unless its session did); its gateway counts what it transmits in its
    own stats."""
    if dev_eui and device_counted:
        body = _downlink_body(None, sent)
        subjects.log_if_watched(device_subject(dev_eui), device_watched, "downlink", body)
    elif dev_eui:
        subjects.count(device_subject(dev_eui), "down")
        subjects.log(device_subject(dev_eui), "downlink", _downlink_body(None, sent))
    subjects.log_if_watched(
        gateway_subject(sent.gateway_id), gateway_watched, "downlink", _downlink_body(dev_eui, sent)
    )


def device_counters(
    receptions: tuple[Reception, ...], *, join: bool = False, downlink: bool = False
) -> dict[str, float]:
    """What an accepted uplink (or JoinRequest) adds to its device's hour: uplinks (or joins), the best
    gateway's RSSI and SNR, the data rate and frequency used, and the downlink that answered it."""
    best = max(receptions, key=lambda r: (r.snr, r.rssi))
    counters = {
        "join" if join else "up": 1.0,
        counter_name("dr", best.data_rate): 1.0,
        counter_name("f", best.frequency): 1.0,
        "rssi": float(best.rssi),
        "snr": float(best.snr),
    }
    return counters | ({"down": 1.0} if downlink else {})


def record_uplink(
    *,
    dev_eui: str,
    phy_payload: bytes,
    receptions: tuple[Reception, ...],
    f_cnt: int | None = None,
    mac_commands: bytes = b"",
    join: bool = False,
    downlink: SentDownlink | None = None,
    deduplication_id: str = "",
    counted: bool = False,
    watched: bool = False,
    now: float | None = None,
) -> bool:
    """An accepted uplink (or JoinRequest) and the downlink that answered it, if any: its device's hour
    gets `device_counters` (unless `counted`: a data uplink's session carries them), its log the frame
    while watched, each watched gateway's log the frame too. `watched`: the device's session says someone
    watches it; a counter update also learns it from the bucket's flag (a device with no session yet).
    Whether someone watches the device."""
    at = time.time() if now is None else now
    best = max(receptions, key=lambda r: (r.snr, r.rssi))
    subjects = _Subjects()
    device = device_subject(dev_eui)
    if watched:
        subjects.watched.add(device)
    if not counted:
        for name, value in device_counters(receptions, join=join).items():
            subjects.count(device, name, value=value)
    body: dict[str, Any] = {
        "phy_payload": phy_payload.hex(),
        "f_cnt": f_cnt,
        "dr": best.data_rate,
        "frequency": best.frequency,
        "rx": [_reception(r) for r in receptions],
        "deduplication_id": deduplication_id,
    }
    if mac_commands:
        body["mac_commands"] = mac_commands.hex()
    if counted:
        subjects.log_if_watched(device, watched, "uplink", body)
    else:
        subjects.log(device, "uplink", body)
    for r in receptions:
        subjects.log_if_watched(
            gateway_subject(r.gateway_id), r.gateway_watched, "uplink", body | {"dev_eui": dev_eui}
        )
    if downlink is not None:
        gateway_watched = any(r.gateway_watched for r in receptions if r.gateway_id == downlink.gateway_id)
        _count_downlink(subjects, dev_eui, downlink, gateway_watched, counted, watched)
    return device in subjects.flush(at)


def record_rejected(
    *,
    reason: str,
    phy_payload: bytes,
    receptions: tuple[Reception, ...],
    dev_eui: str | None = None,
    watched: bool = False,
    now: float | None = None,
) -> None:
    """A frame the network did not accept: logged with the reason by each watched gateway that heard it,
    and counted and logged by the device when the MIC named it (a replay); `watched`: its session's flag
    says someone watches it (its bucket's flag is the counter update's answer)."""
    at = time.time() if now is None else now
    subjects = _Subjects()
    if dev_eui and watched:
        subjects.watched.add(device_subject(dev_eui))
    name = counter_name("err", reason)
    body = {"reason": reason, "phy_payload": phy_payload.hex(), "rx": [_reception(r) for r in receptions]}
    if dev_eui:
        subjects.count(device_subject(dev_eui), name)
        subjects.log(device_subject(dev_eui), "rejected", body)
        body = body | {"dev_eui": dev_eui}
    for r in receptions:
        subjects.log_if_watched(gateway_subject(r.gateway_id), r.gateway_watched, "rejected", body)
    subjects.flush(at)


def record_downlink(*, dev_eui: str, downlink: SentDownlink, now: float | None = None) -> None:
    """A downlink sent on its own (class C): the device's hour counts it."""
    subjects = _Subjects()
    _count_downlink(subjects, dev_eui, downlink, gateway_registry.watched(downlink.gateway_id))
    subjects.flush(time.time() if now is None else now)


def record_tx_ack(
    *, dev_eui: str | None, gateway_id: str, downlink_id: int, status: str, window: int,
    now: float | None = None,
) -> None:  # fmt: skip
    """What the gateway did with a downlink: sent in RX1/RX2, or an error by reason (gw.TxAckStatus): the
    device's hour counts it; the gateway's log shows it while watched (its stats count it)."""
    subjects = _Subjects()
    body: dict[str, Any] = {"downlink_id": downlink_id, "gateway_id": gateway_id, "status": status}
    names = ["tx_ok", counter_name("tx_rx", window)] if status == "OK" else [counter_name("err_tx", status)]
    if status == "OK":
        body["window"] = f"RX{window}"
    if dev_eui:
        subjects.count(device_subject(dev_eui), *names)
        subjects.log(device_subject(dev_eui), "tx_ack", body)
    gateway_body = body | ({"dev_eui": dev_eui} if dev_eui else {})
    subjects.log_if_watched(
        gateway_subject(gateway_id), gateway_registry.watched(gateway_id), "tx_ack", gateway_body
    )
    subjects.flush(time.time() if now is None else now)
