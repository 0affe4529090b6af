"""The REST API resolver: validation from the pydantic models, OpenAPI at /docs?format=json and Swagger UI at
/docs, every route behind the API key, errors as {"message": ...} (4xx for bad input, never a 500)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.appserver.api import devices
from functions.appserver.auth import authorized

app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/docs", title="Loraless API", version="0.1.0")
app.include_router(devices.router)
OPEN_PATHS = ("/docs",)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[dict[str, object]]:
    details = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}" for e in error.errors()]
    return Response(422, content_types.APPLICATION_JSON, {"message": "invalid request", "errors": details})


def require_api_key(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every route but the API's own documentation needs the key."""
    event = resolver.current_event
    if not event.path.startswith(OPEN_PATHS):
        headers = {k.lower(): v for k, v in (event.headers or {}).items()}
        if not authorized(headers.get("authorization")):
            message = {"message": "a valid API key is required (Authorization: Bearer ...)"}
            return Response(401, content_types.APPLICATION_JSON, message)
    return next_middleware(resolver)


app.use(middlewares=[require_api_key])
