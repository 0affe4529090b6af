"""Lambda: JoinReq in, JoinAns out (invoked synchronously by the network server)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from functions.appserver.join_server import handle_join
from functions.shared.interface import JoinAns, JoinReq

logger = Logger()


tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses may carry keys (JoinAns)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = JoinReq.from_dict(event)
    except (KeyError, ValueError, TypeError) as exc:
        logger.warning("malformed JoinReq", extra={"error": str(exc)})
        return JoinAns(int(event.get("TransactionID", 0) or 0), "MalformedRequest", str(exc)).to_dict()
    logger.append_keys(dev_eui=request.dev_eui)
    return handle_join(request).to_dict()
