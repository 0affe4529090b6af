"""Lambda (IoT rule on `event/ack`): a gateway's TX acknowledgement."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.network.observability import logger
from functions.network.transmissions import handle_tx_ack
from functions.shared import aws
from functions.shared.interface import NetworkEvent
from functions.shared.settings import SETTINGS

metrics = Metrics()


def _send(event: NetworkEvent) -> None:
    if SETTINGS.network_events_function:
        aws.invoke(SETTINGS.network_events_function, event.to_dict(), wait=False)


tracer = Tracer()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)  # responses may carry keys (JoinAns)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(gateway_id=event.get("gatewayId"), downlink_id=event.get("downlinkId"))
    return handle_tx_ack(
        event, lambda name: metrics.add_metric(name=name, unit=MetricUnit.Count, value=1), _send
    )
