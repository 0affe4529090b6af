"""Lambda (asynchronous invoke by the application server): one event to one application's HTTP webhook.

Payload `{"application_id", "event_type", "body"}`, body being the integration event (object or JSON
text). A receiver that fails raises, so Lambda retries twice and then keeps the event in the dead-letter
queue; a malformed payload or an application without a webhook is logged and dropped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.appserver.webhooks import DeliveryError, dispatch
from functions.shared.observability import lambda_handler, logger, metrics


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    application_id, event_type = event.get("application_id"), event.get("event_type")
    if not isinstance(application_id, str) or not isinstance(event_type, str) or "body" not in event:
        logger.warning("malformed webhook request dropped", extra={"keys": sorted(event)})
        return {"status": None}
    logger.append_keys(application_id=application_id, event_type=event_type)
    try:
        status = dispatch(application_id, event_type, event["body"])
    except DeliveryError as exc:
        metrics.add_metric(name="WebhookFailed", unit=MetricUnit.Count, value=1)
        logger.warning(
            "webhook delivery failed; Lambda retries", extra={"error": str(exc), "status": exc.status}
        )
        raise
    if status is None:
        logger.info("application has no webhook; event not sent")
    else:
        metrics.add_metric(name="WebhookDelivered", unit=MetricUnit.Count, value=1)
        logger.info("webhook delivered", extra={"status": status})
    return {"status": status}
