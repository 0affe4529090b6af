"""Lambda (invoked by the application server): send a class C device's queued downlink now."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.network.class_c import send_class_c
from functions.network.observability import logger
from functions.shared import aws
from functions.shared.observability import lambda_handler

metrics = Metrics()


tracer = Tracer()


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dev_eui = str(event.get("dev_eui", ""))
    logger.append_keys(dev_eui=dev_eui)
    status = send_class_c(
        dev_eui, aws.publish, lambda name: metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    )
    return {"status": status}
