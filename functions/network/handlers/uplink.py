"""Lambda (IoT rule on `+/gateway/+/event/up`): one gateway reception of one frame.

Bad input (an event that is not a gw.UplinkFrame, an unknown region prefix, a frame that does not decode
or authenticate) is counted, logged and answered with a status; only infrastructure errors raise, so
only they make the platform retry the invocation.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.network.observability import logger
from functions.network.receptions import InvalidUplinkEvent, parse_uplink
from functions.network.uplink import Ports, handle_reception
from functions.shared.observability import lambda_handler

metrics = Metrics()


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


tracer = Tracer()


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    try:
        reception = parse_uplink(event)
    except InvalidUplinkEvent as exc:
        _count("InvalidUplinks")
        logger.warning("uplink event dropped", extra={"reason": str(exc)})
        return {"status": "invalid"}
    logger.append_keys(gateway_id=reception.gateway_id)
    status = handle_reception(reception, Ports(count=_count))
    # One line per frame: a copy folded into another invocation's frame is counted (DedupDrops) only.
    log = logger.debug if status == "duplicate" else logger.info
    log("uplink handled", extra={"status": status})
    return {"status": status}
