"""Lambda (API Gateway REST proxy): the Loraless REST API."""

from __future__ import annotations

from typing import Any

from functions.appserver.api.app import resolve
from functions.shared.observability import lambda_handler


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolve(event, context)
