"""A schema fuzz of the REST API: schemathesis makes requests from the API's own OpenAPI document (valid
and invalid bodies, paths and queries) and sends them over real HTTP through the local API Gateway to the
Api handler, as a global administrator so that every route is reached. No request may get a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from functions.appserver.api.app import app
from functions.appserver.handlers.api import handler
from localcloud.api_gateway import ApiGateway
from tests.support.api import Context, make_tenant

schema = schemathesis.openapi.from_dict(json.loads(app.get_openapi_json_schema()))


@dataclass
class Result:
    ok: bool
    payload: Any
    error: str | None = None


class InProcess:
    """The LambdaService interface of the local API Gateway, calling the handler in this process."""

    def invoke(self, function: str, event: dict[str, Any]) -> Result:
        try:
            return Result(True, handler(event, Context()))
        except Exception as exc:  # as the Lambda runtime: an unhandled error is the gateway's 502
            return Result(False, None, repr(exc))


@pytest.fixture(scope="module")
def gateway() -> Iterator[ApiGateway]:
    api = ApiGateway(InProcess(), "Api").start()  # type: ignore[arg-type]
    yield api
    api.stop()


@pytest.fixture
def seeded(dynamodb: str, admin_key: str) -> str:
    make_tenant(admin_key, "Acme")
    return admin_key


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any, gateway: ApiGateway, seeded: str) -> None:
    response = case.call(base_url=gateway.url, headers={"Authorization": f"Bearer {seeded}"}, timeout=30)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
