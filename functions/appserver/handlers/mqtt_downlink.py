"""Lambda (IoT rule on `application/+/device/+/command/down`): an application's downlink."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from functions.appserver.downlinks import handle_mqtt_command
from functions.shared import aws

logger = Logger()


tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses may carry keys (JoinAns)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(dev_eui=event.get("topic_dev_eui"))
    return {"queued": handle_mqtt_command(event, aws.publish)}
