"""Lambda: JoinReq in, JoinAns out (invoked synchronously by the network server)."""

from __future__ import annotations

from typing import Any

from functions.appserver.join_server import handle_join
from functions.shared.interface import JoinAns, JoinReq
from functions.shared.observability import lambda_handler, logger


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = JoinReq.from_dict(event)
    except (KeyError, ValueError, TypeError) as exc:
        logger.warning("malformed JoinReq", extra={"error": str(exc)})
        return JoinAns(int(event.get("TransactionID", 0) or 0), "MalformedRequest", str(exc)).to_dict()
    logger.append_keys(dev_eui=request.dev_eui)
    return handle_join(request).to_dict()
