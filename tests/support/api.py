"""The REST API in-process: real API Gateway proxy events (the local cloud's shape) through the Api
Lambda handler, against DynamoDB on moto; and a small world of two tenants to test it with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.appserver.accounts import create_user
from functions.appserver.auth import new_admin_key
from functions.appserver.handlers.api import handler
from functions.shared.settings import SETTINGS
from localcloud.api_gateway import proxy_event

PASSWORD = "correct horse battery"


class Context:
    function_name = "Api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:Api"
    aws_request_id = "test"


def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"content-type": ["application/json"]}
    if token is not None:
        headers["authorization"] = [f"Bearer {token}"]
    raw = json.dumps(body).encode() if body is not None else b""
    response = handler(proxy_event(method, f"/v1{path}", headers, raw, "127.0.0.1"), Context())
    text = response.get("body") or ""
    return response["statusCode"], json.loads(text) if text else None


def ok(method: str, path: str, body: Any = None, token: str | None = None, status: int = 200) -> Any:
    code, answer = call(method, path, body, token)
    assert code == status, (method, path, code, answer)
    return answer


def login(email: str, password: str = PASSWORD) -> str:
    return str(ok("POST", "/login", {"email": email, "password": password})["token"])


@pytest.fixture
def admin_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The deployment's administrator key (and a session secret, as the local cloud gives)."""
    key, digest = new_admin_key()
    monkeypatch.setattr(SETTINGS, "admin_api_key_sha256", digest)
    monkeypatch.setattr(SETTINGS, "jwt_secret", "test-session-secret-" + "x" * 32)
    return key


@dataclass
class Tenant:
    org_id: str
    admin: str  # a login token for each role
    device_admin: str
    gateway_admin: str
    viewer: str
    ids: dict[str, str] = field(default_factory=dict)


def make_tenant(admin_key: str, name: str) -> Tenant:
    """An organization with one user per role, logged in, and an application, a profile and a device."""
    org_id = ok("POST", "/organizations", {"name": name}, admin_key, 201)["id"]
    tokens = {}
    for role in ("admin", "device_admin", "gateway_admin", "viewer"):
        email = f"{role}@{name.lower()}.example"
        create_user(email, PASSWORD)
        ok("POST", f"/organizations/{org_id}/members", {"email": email, "role": role}, admin_key, 201)
        tokens[role] = login(email)
    tenant = Tenant(org_id, **tokens)
    application = ok("POST", "/applications", {"organization_id": org_id, "name": f"{name} meters"},
                     tenant.admin, 201)  # fmt: skip
    profile = ok("POST", "/device-profiles", {"organization_id": org_id, "name": f"{name} EU868 1.0.3",
                 "codec": {"kind": "cayenne_lpp"}}, tenant.admin, 201)  # fmt: skip
    dev_eui = (name.encode().hex() + "00" * 8)[:16]
    ok("POST", "/devices", {"dev_eui": dev_eui, "application_id": application["id"], "name": f"{name} one",
       "device_profile_id": profile["id"], "app_key": "2b7e151628aed2a6abf7158809cf4f3c"},
       tenant.admin, 201)  # fmt: skip
    gateway_id = (name.encode().hex() + "ff" * 8)[:16]
    ok("POST", "/gateways", {"gateway_id": gateway_id, "organization_id": org_id, "name": f"{name} roof"},
       tenant.gateway_admin, 201)  # fmt: skip
    tenant.ids = {
        "org_id": org_id,
        "application_id": application["id"],
        "profile_id": profile["id"],
        "dev_eui": dev_eui,
        "gateway_id": gateway_id,
    }
    return tenant
