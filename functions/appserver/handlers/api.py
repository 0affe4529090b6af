"""Lambda (API Gateway REST proxy): the Loraless REST API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from functions.appserver.api.app import resolve

logger = Logger()


tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # responses may carry keys (JoinAns)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolve(event, context)
