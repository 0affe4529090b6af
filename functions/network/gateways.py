"""Gateway state kept by the network server: statistics, connection state, and what a bridge's last
will means for the gateways it served (they go offline, and their retained `state/conn` says so, as a
per-gateway will would in ChirpStack)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pynamodb.expressions.update import Action

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.network.models import Gateway
from functions.network.observability import logger
from functions.network.receptions import InvalidUplinkEvent, region_for_prefix
from functions.network.scheduling import TOO_LATE_KEY
from functions.shared import aws, frame_log
from functions.shared.frame_log import counter_name, gateway_subject
from functions.shared.interface import gateway_event_log

GATEWAY_ID_LENGTH = 16
Publish = Callable[..., None]


def bridge_state(event: dict[str, Any], publish: Publish = aws.publish) -> dict[str, Any]:
    """A bridge's retained state: ONLINE records which gateways it serves; OFFLINE (its last will, or a
    clean shutdown) takes those gateways offline."""
    bridge_id = str(event["bridgeId"])
    prefix = str(event.get("topic_prefix", "eu868"))
    if event.get("state") == "ONLINE":
        for gateway_id in event.get("gatewayIds") or []:
            if isinstance(gateway_id, str) and len(gateway_id) == GATEWAY_ID_LENGTH:
                Gateway(gateway_id).update(
                    actions=[Gateway.bridge_id.set(bridge_id), Gateway.topic_prefix.set(prefix)]
                )
        return {"bridge": bridge_id, "online": True}
    revoked = []
    for gateway in Gateway.scan(Gateway.bridge_id == bridge_id):
        if gateway.online:
            gateway.update(actions=[Gateway.online.set(False)])
            # gw.ConnState, OFFLINE written out as the bridge writes it
            offline = {"gatewayId": gateway.gateway_id, "state": "OFFLINE"}
            publish(f"{gateway.topic_prefix}/gateway/{gateway.gateway_id}/state/conn", offline, retain=True)
            revoked.append(gateway.gateway_id)
    logger.warning(
        "bridge gone: its gateways are offline", extra={"bridge_id": bridge_id, "gateways": revoked}
    )
    return {"bridge": bridge_id, "online": False, "revoked": revoked}


def gateway_event(event: dict[str, Any]) -> dict[str, Any]:
    """A gateway's stats or connection state: last seen, online, location and counters."""
    gateway_id = str(event.get("gatewayId") or event.get("topic_gateway_id") or "")
    if len(gateway_id) != GATEWAY_ID_LENGTH:
        logger.warning("gateway event without a valid gateway id dropped")
        return {"stored": False}
    actions: list[Action] = [
        Gateway.last_seen_at.set(int(time.time())),
        Gateway.topic_prefix.set(str(event.get("topic_prefix", "eu868"))),
    ]
    if "state" in event:
        actions.append(Gateway.online.set(event.get("state") == "ONLINE"))
    else:
        actions.append(Gateway.online.set(True))
        stats = {k: v for k, v in event.items() if k in TOTALS}
        try:  # keep what the TX acks recorded (TOO_LATE), which the uplink's gateway choice reads
            previous = Gateway.get(gateway_id).stats or {}
            if TOO_LATE_KEY in previous:
                stats[TOO_LATE_KEY] = previous[TOO_LATE_KEY]
        except Gateway.DoesNotExist:
            pass
        actions.append(Gateway.stats.set(stats))
        _count_hour(gateway_id, event)
        location = event.get("location") or {}
        for attribute, name in (
            (Gateway.latitude, "latitude"),
            (Gateway.longitude, "longitude"),
            (Gateway.altitude, "altitude"),
        ):
            if isinstance(location.get(name), int | float):
                actions.append(attribute.set(location[name]))
    Gateway(gateway_id).update(actions=actions)
    kind = "conn" if "state" in event else "stats"
    body = {k: v for k, v in event.items() if not k.startswith("topic_")}
    gateway_event_log().record_gateway_event(gateway_id, kind, body)
    return {"stored": True}


# gw.GatewayStats counters (since the gateway's previous report) and the hour bucket's names for them
TOTALS = {
    "rxPacketsReceived": "rx_received",
    "rxPacketsReceivedOk": "rx_ok",
    "txPacketsReceived": "tx_received",
    "txPacketsEmitted": "tx_emitted",
}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _data_rate(region: Region | None, modulation: Any) -> int | None:
    lora = modulation.get("lora") if isinstance(modulation, dict) else None
    if region is None or not isinstance(lora, dict):
        return None
    try:
        return region.data_rate_index(LoRaModulation(int(lora["spreadingFactor"]), int(lora["bandwidth"])))
    except (KeyError, TypeError, ValueError, LoRaWANError):
        return None


def stats_counters(event: dict[str, Any]) -> dict[str, float]:
    """A stats report's counters as the gateway's hour bucket names them: totals, received and
    transmitted per frequency (`f_`, `txf_`) and per LoRa data rate of its region (`dr_`, `txdr_`),
    transmissions by status (`tx_ok`, `err_tx_<status>`), as ChirpStack's gateway dashboard counts them
    (gw.GatewayStats). Entries that are not counts are left out."""
    counters: dict[str, float] = {}

    def add(name: str, value: Any) -> None:
        count = _count(value)
        if count:
            counters[name] = counters.get(name, 0) + count

    for field, name in TOTALS.items():
        add(name, event.get(field))
    try:
        region: Region | None = region_for_prefix(str(event.get("topic_prefix", "eu868")))
    except InvalidUplinkEvent:
        region = None
    for field, prefix in (("rxPacketsPerFrequency", "f"), ("txPacketsPerFrequency", "txf")):
        per_frequency = event.get(field)
        for frequency, value in per_frequency.items() if isinstance(per_frequency, dict) else ():
            if str(frequency).isdigit():
                add(counter_name(prefix, frequency), value)
    for field, prefix in (("rxPacketsPerModulation", "dr"), ("txPacketsPerModulation", "txdr")):
        per_modulation = event.get(field)
        for entry in per_modulation if isinstance(per_modulation, list) else ():
            data_rate = _data_rate(region, entry.get("modulation")) if isinstance(entry, dict) else None
            if data_rate is not None:
                add(counter_name(prefix, data_rate), entry.get("count"))
    per_status = event.get("txPacketsPerStatus")
    for status, value in per_status.items() if isinstance(per_status, dict) else ():
        if isinstance(status, str) and status.isidentifier():
            add("tx_ok" if status == "OK" else counter_name("err_tx", status), value)
    return counters


def _count_hour(gateway_id: str, event: dict[str, Any]) -> None:
    """Add a stats report's counters to the gateway's hour bucket (functions/shared/frame_log.py), one
    UpdateItem per report: the gateway's metrics, instead of a write per frame it hears."""
    frame_log.add(gateway_subject(gateway_id), stats_counters(event))
