"""Lambda (API Gateway REST proxy): the Loraless REST API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.appserver.api.app import resolve

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolve(event, context)
