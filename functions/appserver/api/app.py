"""The REST API resolver: validation from the pydantic models, OpenAPI at /docs?format=json and Swagger UI
at /docs, CORS for the web interface, every route but /docs and /login behind credentials (auth.py),
errors as {"message": ...} (4xx for bad input, never a 500)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from functions.appserver.api import account, applications, device_profiles, devices, gateways, organizations
from functions.appserver.api.common import CALLER
from functions.appserver.auth import principal_for

WEB_ORIGIN = os.environ.get("LORALESS_WEB_ORIGIN", "*")
cors = CORSConfig(
    allow_origin=WEB_ORIGIN,
    allow_headers=["Authorization", "Content-Type"],
    max_age=600,
)
app = APIGatewayRestResolver(enable_validation=True, cors=cors)
app.enable_swagger(path="/docs", title="Loraless API", version="0.2.0")
for module in (account, organizations, applications, device_profiles, devices, gateways):
    app.include_router(module.router)
OPEN_PATHS = ("/docs", "/login")


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[dict[str, object]]:
    details = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}" for e in error.errors()]
    return Response(422, content_types.APPLICATION_JSON, {"message": "invalid request", "errors": details})


JSON_ONLY = "the API takes JSON bodies (Content-Type: application/json)"


def _refusal(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": WEB_ORIGIN},
        "body": json.dumps({"message": message}),
        "isBase64Encoded": False,
    }


class _TooDeep(ValueError):
    """A body nested deeper than the parser recurses (100,000 levels gave a 502, issue 15)."""


def _is_json(body: str, *, encoded: bool) -> bool:
    try:
        json.loads(base64.b64decode(body).decode() if encoded else body)
    except RecursionError:
        raise _TooDeep("the body is nested too deep") from None
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _unreadable(
    event: dict[str, Any], request: APIGatewayProxyEvent, headers: dict[str, str]
) -> dict[str, Any] | None:
    """A refusal for a body the API does not take (Powertools' validation would fail on it with a 500).
    A JSON body sent with another Content-Type (`curl -d` sends a form type) is taken as JSON."""
    media_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if not request.body:
        return _refusal(415, JSON_ONLY) if media_type == "multipart/form-data" else None
    try:
        readable = _is_json(request.body, encoded=bool(request.is_base64_encoded))
    except _TooDeep as exc:
        return _refusal(400, str(exc))
    if not readable:
        if media_type not in ("", "application/json"):
            return _refusal(415, JSON_ONLY)
        return _refusal(400, "the body is not valid JSON")
    if media_type != "application/json":
        for name in [k for k in event.get("headers") or {} if k.lower() == "content-type"]:
            del event["headers"][name]
        for name in [k for k in event.get("multiValueHeaders") or {} if k.lower() == "content-type"]:
            del event["multiValueHeaders"][name]
        event["headers"] = (event.get("headers") or {}) | {"Content-Type": "application/json"}
        if event.get("multiValueHeaders"):
            event["multiValueHeaders"]["Content-Type"] = ["application/json"]
    return None


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Authenticate, then route. Credentials are checked before anything else (request validation
    included), so a caller without them learns nothing about a route but that it needs them."""
    request = APIGatewayProxyEvent(event)
    if request.http_method == "OPTIONS":
        return app.resolve(event, context)
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    if request.path.startswith(OPEN_PATHS):
        return _unreadable(event, request, headers) or app.resolve(event, context)
    principal = principal_for(headers.get("authorization"))
    if principal is None:
        return _refusal(401, "valid credentials are required (Authorization: Bearer <token or API key>)")
    refused = _unreadable(event, request, headers)
    if refused is not None:
        return refused
    token = CALLER.set(principal)
    try:
        return app.resolve(event, context)
    finally:
        CALLER.reset(token)
