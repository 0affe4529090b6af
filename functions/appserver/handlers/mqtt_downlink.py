"""Lambda (IoT rule on `application/+/device/+/command/down`): an application's downlink."""

from __future__ import annotations

from typing import Any

from functions.appserver.downlinks import handle_mqtt_command
from functions.shared import aws
from functions.shared.observability import lambda_handler, logger


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(dev_eui=event.get("topic_dev_eui"))
    return {"queued": handle_mqtt_command(event, aws.publish)}
