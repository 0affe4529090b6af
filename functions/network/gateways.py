"""Gateway state kept by the network server: statistics, connection state, and what a bridge's last
will means for the gateways it served (they go offline, and their retained `state/conn` says so, as a
per-gateway will would in ChirpStack)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.expressions.update import Action

from functions.network.models import Gateway, GatewayStatsBucket
from functions.network.observability import logger
from functions.network.scheduling import TOO_LATE_KEY
from functions.shared import aws
from functions.shared.interface import application_server

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
        stats = {k: v for k, v in event.items() if k.startswith(("rxPackets", "txPackets"))}
        try:  # keep what the TX acks recorded (TOO_LATE), which the uplink's gateway choice reads
            previous = Gateway.get(gateway_id).stats or {}
            if TOO_LATE_KEY in previous:
                stats[TOO_LATE_KEY] = previous[TOO_LATE_KEY]
        except Gateway.DoesNotExist:
            pass
        actions.append(Gateway.stats.set(stats))
        _count_hour(gateway_id, stats)
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
    application_server().record_gateway_event(gateway_id, kind, body)
    return {"stored": True}


def _count_hour(gateway_id: str, stats: dict[str, Any]) -> None:
    """Add a stats message's counters (since the gateway's previous one) to its hour, for charts."""
    hour = int(time.time()) // 3600 * 3600
    counters = (
        (GatewayStatsBucket.rx_received, "rxPacketsReceived"),
        (GatewayStatsBucket.rx_ok, "rxPacketsReceivedOk"),
        (GatewayStatsBucket.tx_received, "txPacketsReceived"),
        (GatewayStatsBucket.tx_emitted, "txPacketsEmitted"),
    )
    actions: list[Action] = [
        attribute.add(int(stats[name])) for attribute, name in counters if isinstance(stats.get(name), int)
    ]
    actions.append(GatewayStatsBucket.expires_at.set(datetime.now(UTC) + timedelta(days=31)))
    GatewayStatsBucket(gateway_id, hour).update(actions=actions)
