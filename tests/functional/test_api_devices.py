"""The REST API with real API Gateway proxy events (the local cloud's shape) against DynamoDB on moto:
authentication, device provisioning, validation and error codes, keys never returned or stored in clear."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.appserver.auth import new_api_key
from functions.appserver.handlers.api import handler
from functions.shared.models import Device
from localstack.api_gateway import proxy_event

APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"


class Context:
    function_name = "Api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:Api"
    aws_request_id = "test"


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key, digest = new_api_key()
    monkeypatch.setenv("LORALESS_ADMIN_API_KEY_SHA256", digest)
    return key


def call(method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
    headers = {"content-type": ["application/json"]}
    if key is not None:
        headers["authorization"] = [f"Bearer {key}"]
    raw = json.dumps(body).encode() if body is not None else b""
    response = handler(proxy_event(method, f"/v1{path}", headers, raw, "127.0.0.1"), Context())
    text = response.get("body") or ""
    return response["statusCode"], json.loads(text) if text else None


DEVICE = {
    "dev_eui": "0004A30B001C0530",
    "join_eui": "70b3d57ed0000001",
    "name": "roof",
    "application_id": "weather",
    "mac_version": "1.0.3",
    "region": "EU868",
    "app_key": APP_KEY,
}


def test_every_route_needs_the_key_but_the_documentation(dynamodb: str, api_key: str) -> None:
    for method, path in (
        ("GET", "/devices"),
        ("POST", "/devices"),
        ("GET", "/devices/0004a30b001c0530"),
        ("DELETE", "/devices/0004a30b001c0530"),
    ):
        assert call(method, path, DEVICE if method == "POST" else None)[0] == 401
        assert call(method, path, DEVICE if method == "POST" else None, key="ll_wrong")[0] == 401
    status, document = call("GET", "/docs?format=json")
    assert status == 200 and "/devices" in document["paths"]


def test_provision_read_list_delete(dynamodb: str, api_key: str) -> None:
    status, created = call("POST", "/devices", DEVICE, api_key)
    assert status == 201
    assert created["dev_eui"] == "0004a30b001c0530" and created["activated"] is False
    assert "app_key" not in json.dumps(created) and APP_KEY not in json.dumps(created)
    stored = Device.get("0004a30b001c0530")
    assert stored.root_keys is not None and APP_KEY.encode() not in stored.root_keys
    assert bytes.fromhex(APP_KEY) not in stored.root_keys
    assert call("GET", "/devices/0004a30b001c0530", key=api_key) == (200, created)
    assert call("GET", "/devices?application_id=weather", key=api_key)[1]["devices"] == [created]
    assert call("GET", "/devices?application_id=other", key=api_key)[1]["devices"] == []
    assert call("POST", "/devices", DEVICE, api_key)[0] == 409
    assert call("DELETE", "/devices/0004a30b001c0530", key=api_key)[0] == 204
    assert call("GET", "/devices/0004a30b001c0530", key=api_key)[0] == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"dev_eui": "xyz"}, 422),
        ({"app_key": "00"}, 422),
        ({"region": "MARS433"}, 422),
        ({"mac_version": "2.0"}, 422),
        ({"application_id": "has spaces"}, 422),
        ({"mac_version": "1.1.0"}, 400),
    ],
)
def test_bad_input_is_a_clear_4xx_and_nothing_is_stored(
    dynamodb: str, api_key: str, change: dict[str, str], status: int
) -> None:
    code, body = call("POST", "/devices", DEVICE | change, api_key)
    assert code == status and body["message"]
    assert list(Device.scan()) == []


def test_malformed_json_and_unknown_routes(dynamodb: str, api_key: str) -> None:
    headers = {"content-type": ["application/json"], "authorization": [f"Bearer {api_key}"]}
    response = handler(proxy_event("POST", "/v1/devices", headers, b"{not json", "127.0.0.1"), Context())
    assert 400 <= response["statusCode"] < 500
    assert call("GET", "/nothing-here", key=api_key)[0] == 404
    assert call("GET", "/devices/not-an-eui", key=api_key)[0] in (404, 422)


def test_the_downlink_queue_over_rest(dynamodb: str, api_key: str) -> None:
    assert call("POST", "/devices", DEVICE, api_key)[0] == 201
    status, body = call("POST", "/devices/0004a30b001c0530/queue", {"f_port": 3, "data": "AQID"}, api_key)
    assert status == 201 and body["id"]
    assert call("POST", "/devices/0004a30b001c0530/queue", {"f_port": 0, "data": "AQID"}, api_key)[0] == 422
    assert call("POST", "/devices/0004a30b001c0530/queue", {"f_port": 3, "data": "!!"}, api_key)[0] == 400
    status, listed = call("GET", "/devices/0004a30b001c0530/queue", key=api_key)
    assert status == 200 and [(i["f_port"], i["data"]) for i in listed["items"]] == [(3, "AQID")]
    assert call("DELETE", "/devices/0004a30b001c0530/queue", key=api_key)[0] == 204
    assert call("GET", "/devices/0004a30b001c0530/queue", key=api_key)[1]["items"] == []
    assert call("POST", "/devices/ffffffffffffffff/queue", {"f_port": 3, "data": "AQID"}, api_key)[0] == 404
