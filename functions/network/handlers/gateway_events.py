"""Lambda (IoT rules on `event/stats` and `state/conn`): keep each gateway's last state and location."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger

from functions.shared.models import Gateway

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    gateway_id = str(event.get("gatewayId") or event.get("topic_gateway_id") or "")
    if len(gateway_id) != 16:
        logger.warning("gateway event without a valid gateway id dropped")
        return {"stored": False}
    logger.append_keys(gateway_id=gateway_id)
    actions = [
        Gateway.last_seen_at.set(int(time.time())),
        Gateway.topic_prefix.set(str(event.get("topic_prefix", "eu868"))),
    ]
    if "state" in event or event.keys() <= {"gatewayId", "topic_prefix", "topic_gateway_id", "received_at"}:
        actions.append(Gateway.online.set(event.get("state") == "ONLINE"))
    else:
        actions.append(Gateway.online.set(True))
        stats = {k: v for k, v in event.items() if k.startswith(("rxPackets", "txPackets"))}
        actions.append(Gateway.stats.set(stats))
        location = event.get("location") or {}
        for attribute, name in (
            (Gateway.latitude, "latitude"),
            (Gateway.longitude, "longitude"),
            (Gateway.altitude, "altitude"),
        ):
            if isinstance(location.get(name), int | float):
                actions.append(attribute.set(location[name]))
    Gateway(gateway_id).update(actions=actions)
    return {"stored": True}
