"""Lambda: events from the network server (asynchronous invoke) -> application MQTT topics."""

from __future__ import annotations

from typing import Any

from functions.appserver.integration import handle_network_event
from functions.shared import aws
from functions.shared.interface import NetworkEvent
from functions.shared.observability import lambda_handler, logger


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        network_event = NetworkEvent.from_dict(event)
    except TypeError as exc:
        logger.warning("malformed network event dropped", extra={"error": str(exc)})
        return {"published": None}
    logger.append_keys(dev_eui=network_event.dev_eui)
    return {"published": handle_network_event(network_event, aws.publish)}
