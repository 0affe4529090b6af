"""Lambda (IoT rules on `event/stats`, `state/conn` and the bridges' `bridge/+/state/conn`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Tracer

from functions.network.gateways import bridge_state, gateway_event
from functions.network.observability import logger
from functions.shared.observability import lambda_handler

tracer = Tracer()


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "bridgeId" in event:
        return bridge_state(event)
    logger.append_keys(gateway_id=event.get("gatewayId") or event.get("topic_gateway_id"))
    return gateway_event(event)
