"""Lambda (IoT rule on `event/ack`): what the gateway did with a downlink. The bridge already retried
RX2 after an RX1 error, so anything but OK on the last tried item is a lost downlink: counted and logged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    items = [i.get("status", "OK") for i in event.get("items", []) if isinstance(i, dict)]
    tried = [s for s in items if s != "IGNORED"]
    final = tried[-1] if tried else "UNKNOWN"
    logger.append_keys(gateway_id=event.get("gatewayId"), downlink_id=event.get("downlinkId"))
    if final != "OK":
        metrics.add_metric(name="TxErrors", unit=MetricUnit.Count, value=1)
        logger.warning("downlink not sent", extra={"statuses": items})
    else:
        metrics.add_metric(name=f"DownlinksRX{len(tried)}", unit=MetricUnit.Count, value=1)
    return {"status": final, "window": len(tried)}
