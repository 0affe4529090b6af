"""The REST API end to end in-process (real proxy events through the Api handler, DynamoDB on moto):
credentials, roles, provisioning, pagination, bad input, and the walk over every route showing that
one organization can neither read nor change another's data."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import jwt
import pytest

from functions.appserver.accounts import create_user
from functions.appserver.models import ApiKey, Device, DeviceProfile, User
from functions.network.models import DeviceSession
from tests.support.api import PASSWORD, Tenant, call, login, make_tenant, ok

APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"


@pytest.fixture
def tenants(dynamodb: str, admin_key: str) -> tuple[Tenant, Tenant]:
    return make_tenant(admin_key, "Acme"), make_tenant(admin_key, "Globex")


def routes() -> list[tuple[str, str]]:
    document = ok("GET", "/docs?format=json")
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def test_every_route_but_the_documentation_and_login_needs_credentials(dynamodb: str, admin_key: str) -> None:
    found = routes()
    assert len(found) >= 40
    for method, path in found:
        concrete = re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)
        if path == "/login":
            continue
        assert call(method, concrete, {})[0] == 401, (method, path)
        assert call(method, concrete, {}, token="ll_nothing_here")[0] == 401, (method, path)
        assert call(method, concrete, {}, token="eyJhbGciOiJIUzI1NiJ9.e30.x")[0] == 401, (method, path)


def test_login_sessions_and_forged_tokens(dynamodb: str, admin_key: str) -> None:
    create_user("Ada@Example.com", PASSWORD)
    assert call("POST", "/login", {"email": "ada@example.com", "password": "wrong one"})[0] == 401
    assert call("POST", "/login", {"email": "nobody@example.com", "password": PASSWORD})[0] == 401
    token = login("ada@example.com")
    me = ok("GET", "/me", token=token)
    assert me["user"]["email"] == "ada@example.com" and me["organizations"] == []
    stored = User.get(me["user"]["id"])
    assert PASSWORD not in stored.password_hash and stored.password_hash.startswith("scrypt$")
    claims = {"sub": me["user"]["id"], "exp": time.time() + 60, "iss": "loraless"}
    forged = jwt.encode(claims, "a guessed secret of enough length!", "HS256")
    assert call("GET", "/me", token=forged)[0] == 401
    claims = jwt.decode(token, options={"verify_signature": False})
    expired = jwt.encode(claims | {"exp": time.time() - 1}, "test-session-secret-" + "x" * 32, "HS256")
    assert call("GET", "/me", token=expired)[0] == 401


def test_provisioning_flow(tenants: tuple[Tenant, Tenant]) -> None:
    acme, _ = tenants
    ids = acme.ids
    device = ok("GET", f"/devices/{ids['dev_eui']}", token=acme.viewer)
    assert device["application_id"] == ids["application_id"] and device["activated"] is False
    assert device["region"] == "EU868" and device["mac_version"] == "1.0.3"
    assert APP_KEY not in json.dumps(device)
    stored = Device.get(ids["dev_eui"])
    assert stored.root_keys is not None and bytes.fromhex(APP_KEY) not in stored.root_keys
    assert APP_KEY.encode() not in stored.root_keys
    # Root keys: shown to those who may change the device, not to viewers.
    assert ok("GET", f"/devices/{ids['dev_eui']}/keys", token=acme.device_admin)["app_key"] == APP_KEY
    assert call("GET", f"/devices/{ids['dev_eui']}/keys", token=acme.viewer)[0] == 403
    # More devices; pagination with cursors and a name filter.
    for n in range(5):
        ok("POST", "/devices", {"dev_eui": f"00000000000000{n:02x}", "application_id": ids["application_id"],
           "name": f"Meter {n}", "device_profile_id": ids["profile_id"], "app_key": APP_KEY},
           acme.device_admin, 201)  # fmt: skip
    seen: list[str] = []
    cursor = ""
    while True:
        listed = ok("GET", f"/devices?application_id={ids['application_id']}&limit=2&cursor={cursor}",
                    token=acme.viewer)  # fmt: skip
        seen += [d["dev_eui"] for d in listed["items"]]
        assert len(listed["items"]) <= 2
        if not listed["next_cursor"]:
            break
        cursor = listed["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    found = ok("GET", f"/devices?application_id={ids['application_id']}&search=METER 3", token=acme.viewer)
    assert [d["name"] for d in found["items"]] == ["Meter 3"]
    assert (
        call("GET", f"/devices?application_id={ids['application_id']}&cursor=!!", token=acme.viewer)[0] == 400
    )
    # ABP activation, the queue and the event log.
    abp = {"dev_addr": "26011bda", "app_s_key": "ec925802ae430ca77fd3dd73cb2cc588",
           "nwk_s_key": "44024241ed4ce9a68c6a8bc055233fd3"}  # fmt: skip
    ok("POST", "/devices/0000000000000000/activate", abp, acme.device_admin, 204)
    session = DeviceSession.get("0000000000000000")
    assert session.dev_addr == "26011bda" and b"44024241ed4ce9a6" not in session.net_keys
    assert ok("GET", "/devices/0000000000000000", token=acme.viewer)["activated"] is True
    queued = ok(
        "POST", "/devices/0000000000000000/queue", {"f_port": 3, "data": "AQID"}, acme.device_admin, 201
    )
    items = ok("GET", "/devices/0000000000000000/queue", token=acme.viewer)["items"]
    assert [(i["id"], i["f_port"], i["data"]) for i in items] == [(queued["id"], 3, "AQID")]
    events = ok("GET", "/devices/0000000000000000/events", token=acme.viewer)["items"]
    assert events[0]["type"] == "downlink" and events[0]["body"]["f_port"] == 3
    assert (
        ok("GET", f"/devices/0000000000000000/events?since={events[0]['id']}", token=acme.viewer)["items"]
        == []
    )
    ok("DELETE", "/devices/0000000000000000/queue", token=acme.device_admin, status=204)
    ok("DELETE", "/devices/0000000000000000", token=acme.device_admin, status=204)
    assert call("GET", "/devices/0000000000000000", token=acme.admin)[0] == 404


def test_roles(tenants: tuple[Tenant, Tenant]) -> None:
    acme, _ = tenants
    ids = acme.ids
    rename = {"name": "renamed", "device_profile_id": ids["profile_id"]}
    gateway = {"name": "renamed roof"}
    assert call("PUT", f"/devices/{ids['dev_eui']}", rename, acme.viewer)[0] == 403
    assert call("PUT", f"/devices/{ids['dev_eui']}", rename, acme.gateway_admin)[0] == 403
    assert call("PUT", f"/devices/{ids['dev_eui']}", rename, acme.device_admin)[0] == 200
    assert call("PUT", f"/gateways/{ids['gateway_id']}", gateway, acme.device_admin)[0] == 403
    assert call("PUT", f"/gateways/{ids['gateway_id']}", gateway, acme.gateway_admin)[0] == 200
    assert call("GET", f"/organizations/{acme.org_id}/api-keys", token=acme.device_admin)[0] == 403
    assert call("POST", f"/organizations/{acme.org_id}/members", {"email": "x@y.z", "role": "viewer"},
                acme.device_admin)[0] == 403  # fmt: skip
    assert call("GET", f"/organizations/{acme.org_id}/members", token=acme.viewer)[0] == 200
    assert call("POST", "/organizations", {"name": "mine"}, acme.admin)[0] == 403
    assert call("GET", "/users", token=acme.admin)[0] == 403
    me = ok("GET", "/me", token=acme.viewer)
    assert me["organizations"] == [{"id": acme.org_id, "name": "Acme", "role": "viewer"}]
    # The last admin cannot be demoted or removed.
    members = ok("GET", f"/organizations/{acme.org_id}/members", token=acme.admin)["items"]
    (admin,) = [m for m in members if m["role"] == "admin"]
    path = f"/organizations/{acme.org_id}/members/{admin['user_id']}"
    assert call("PUT", path, {"role": "viewer"}, acme.admin)[0] == 400
    assert call("DELETE", path, token=acme.admin)[0] == 400


def test_api_keys(tenants: tuple[Tenant, Tenant]) -> None:
    acme, globex = tenants
    created = ok("POST", f"/organizations/{acme.org_id}/api-keys", {"name": "ci"}, acme.admin, 201)
    token = created["token"]
    assert token.startswith("ll_") and created["id"] in token
    stored = ApiKey.get(created["id"])
    assert token.split("_", 2)[2] not in stored.secret_sha256
    assert ok("GET", f"/applications/{acme.ids['application_id']}", token=token)["name"] == "Acme meters"
    assert call("GET", f"/applications/{globex.ids['application_id']}", token=token)[0] == 404
    read_only = ok("POST", f"/organizations/{acme.org_id}/api-keys", {"name": "grafana", "read_only": True},
                   acme.admin, 201)["token"]  # fmt: skip
    assert call("GET", f"/devices/{acme.ids['dev_eui']}", token=read_only)[0] == 200
    body = {"name": "x", "device_profile_id": acme.ids["profile_id"]}
    assert call("PUT", f"/devices/{acme.ids['dev_eui']}", body, read_only)[0] == 403
    listed = ok("GET", f"/organizations/{acme.org_id}/api-keys", token=acme.admin)["items"]
    assert {k["name"] for k in listed} == {"ci", "grafana"} and "token" not in json.dumps(listed)
    ok("DELETE", f"/organizations/{acme.org_id}/api-keys/{created['id']}", token=acme.admin, status=204)
    assert call("GET", f"/applications/{acme.ids['application_id']}", token=token)[0] == 401
    assert call("GET", f"/applications/{acme.ids['application_id']}", token=token[:-2] + "xx")[0] == 401
    personal = ok("POST", "/me/api-keys", {"name": "laptop"}, acme.viewer, 201)["token"]
    assert ok("GET", "/me", token=personal)["organizations"][0]["role"] == "viewer"
    assert call("PUT", f"/devices/{acme.ids['dev_eui']}", body, personal)[0] == 403


def test_users_are_managed_by_global_admins(dynamodb: str, admin_key: str) -> None:
    user = ok("POST", "/users", {"email": "eve@example.com", "password": PASSWORD}, admin_key, 201)
    assert call("POST", "/users", {"email": "EVE@example.com", "password": PASSWORD}, admin_key)[0] == 409
    assert call("POST", "/users", {"email": "short@example.com", "password": "x"}, admin_key)[0] == 422
    token = login("eve@example.com")
    assert ok("GET", f"/users/{user['id']}", token=token)["email"] == "eve@example.com"
    change = {"password": "a new long password", "current_password": PASSWORD}
    ok("PUT", f"/users/{user['id']}/password", change, token, 204)
    assert call("POST", "/login", {"email": "eve@example.com", "password": PASSWORD})[0] == 401
    token = login("eve@example.com", "a new long password")  # the change ended the old session
    other = ok("POST", "/users", {"email": "mallory@example.com", "password": PASSWORD}, admin_key, 201)
    assert call("GET", f"/users/{other['id']}", token=token)[0] == 403
    assert call("PUT", f"/users/{other['id']}/password", {"password": "taken over!!"}, token)[0] == 403
    ok("DELETE", f"/users/{user['id']}", token=admin_key, status=204)
    assert call("POST", "/login", {"email": "eve@example.com", "password": "a new long password"})[0] == 401
    ok(
        "POST", "/users", {"email": "eve@example.com", "password": PASSWORD}, admin_key, 201
    )  # e-mail free again


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"dev_eui": "xyz"}, 422),
        ({"app_key": "00"}, 422),
        ({"application_id": "has spaces"}, 422),
        ({"application_id": "0" * 32}, 404),
        ({"device_profile_id": "0" * 32}, 404),
        ({"app_key": None}, 400),
        ({"name": ""}, 422),
    ],
)
def test_bad_device_input_is_a_clear_4xx_and_nothing_is_stored(
    tenants: tuple[Tenant, Tenant], change: dict[str, Any], status: int
) -> None:
    acme, _ = tenants
    body = {"dev_eui": "0004a30b001c0530", "application_id": acme.ids["application_id"], "name": "new",
            "device_profile_id": acme.ids["profile_id"], "app_key": APP_KEY} | change  # fmt: skip
    code, answer = call("POST", "/devices", body, acme.admin)
    assert code == status and answer["message"]
    assert {d.dev_eui for d in Device.scan()} == {acme.ids["dev_eui"], tenants[1].ids["dev_eui"]}


def test_other_bad_input(tenants: tuple[Tenant, Tenant]) -> None:
    acme, globex = tenants
    ids = acme.ids
    body = {"dev_eui": ids["dev_eui"], "application_id": ids["application_id"], "name": "again",
            "device_profile_id": ids["profile_id"], "app_key": APP_KEY}  # fmt: skip
    assert call("POST", "/devices", body, acme.admin)[0] == 409
    # A profile of another organization cannot be used, and is not even said to exist.
    foreign = body | {"dev_eui": "0004a30b001c0531", "device_profile_id": globex.ids["profile_id"]}
    assert call("POST", "/devices", foreign, acme.admin)[0] == 404
    mars = {"organization_id": acme.org_id, "name": "x", "region": "MARS433"}
    assert call("POST", "/device-profiles", mars, acme.admin)[0] == 422
    assert (
        call("POST", f"/devices/{ids['dev_eui']}/queue", {"f_port": 0, "data": "AQID"}, acme.admin)[0] == 422
    )
    assert call("POST", f"/devices/{ids['dev_eui']}/queue", {"f_port": 3, "data": "!!"}, acme.admin)[0] == 400
    big = base64.b64encode(bytes(300)).decode()
    assert call("POST", f"/devices/{ids['dev_eui']}/queue", {"f_port": 3, "data": big}, acme.admin)[0] in (
        400,
        422,
    )
    assert call("POST", "/gateways", {"gateway_id": globex.ids["gateway_id"], "organization_id": acme.org_id,
                "name": "stolen"}, acme.admin)[0] == 409  # fmt: skip
    assert call("DELETE", f"/device-profiles/{ids['profile_id']}", token=acme.admin)[0] == 400
    assert call("DELETE", f"/applications/{ids['application_id']}", token=acme.admin)[0] == 400
    assert call("GET", "/nothing-here", token=acme.admin)[0] == 404
    assert call("GET", "/devices/not-an-eui", token=acme.admin)[0] in (404, 422)
    assert call("GET", "/applications", token=acme.admin)[0] == 400
    assert (
        call("GET", f"/devices?application_id={ids['application_id']}&limit=1000", token=acme.admin)[0] == 400
    )
    assert DeviceProfile.count() == 2


def _fill(path: str, ids: dict[str, str], user_id: str) -> str:
    names = dict(ids) | {
        "user_id": user_id,
        "key_id": ids.get("key_id", "0" * 32),
        "email": "viewer@acme.example",
    }
    return re.sub(r"\{([^}]+)\}", lambda m: names[m.group(1)], path)


def _body(ids: dict[str, str]) -> dict[str, Any]:
    """One body that is valid for every write route, aimed at the victim's objects."""
    return {
        "organization_id": ids["org_id"], "application_id": ids["application_id"],
        "device_profile_id": ids["profile_id"], "dev_eui": "0004a30b001c0599",
        "gateway_id": "0004a30b001c0599",
        "name": "intruder", "email": "admin@globex.example", "role": "admin", "app_key": APP_KEY,
        "password": "a long password", "url": "http://attacker.example/hook", "f_port": 3, "data": "AQID",
        "dev_addr": "26011bda", "app_s_key": APP_KEY, "nwk_s_key": APP_KEY, "is_admin": True,
    }  # fmt: skip


def _snapshot(tenant: Tenant) -> str:
    ids = tenant.ids
    reads = [
        f"/organizations/{ids['org_id']}", f"/organizations/{ids['org_id']}/members",
        f"/organizations/{ids['org_id']}/api-keys", f"/applications/{ids['application_id']}",
        f"/devices?application_id={ids['application_id']}", f"/device-profiles/{ids['profile_id']}",
        f"/devices/{ids['dev_eui']}", f"/devices/{ids['dev_eui']}/keys", f"/devices/{ids['dev_eui']}/queue",
        f"/gateways/{ids['gateway_id']}", f"/gateways?organization_id={ids['org_id']}",
    ]  # fmt: skip
    return json.dumps([ok("GET", path, token=tenant.admin) for path in reads], sort_keys=True)


def test_tenant_isolation_walk(tenants: tuple[Tenant, Tenant]) -> None:
    """Every route of the OpenAPI document, every role of Globex (and its API key), aimed at Acme's
    objects: nothing is read (no 2xx on Acme's ids) and nothing changes."""
    acme, globex = tenants
    acme.ids["key_id"] = ok("POST", f"/organizations/{acme.org_id}/api-keys", {"name": "k"}, acme.admin, 201)[
        "id"
    ]
    before = _snapshot(acme)
    acme_user = ok("GET", "/me", token=acme.admin)["user"]["id"]
    globex_key = ok("POST", f"/organizations/{globex.org_id}/api-keys", {"name": "g"}, globex.admin, 201)[
        "token"
    ]
    intruders = [globex.admin, globex.device_admin, globex.gateway_admin, globex.viewer, globex_key]
    walked = 0
    for method, path in routes():
        if path in ("/login", "/me", "/me/api-keys", "/me/api-keys/{key_id}", "/me/invitations", "/docs"):
            continue  # the caller's own scope
        target = _fill(path, acme.ids, acme_user)
        if method in ("GET", "DELETE") and path in (
            "/applications",
            "/device-profiles",
            "/gateways",
            "/devices",
        ):
            param = "application_id" if path == "/devices" else "organization_id"
            target += f"?{param}={acme.ids[param.replace('organization_id', 'org_id')]}"
        for intruder in intruders:
            status, answer = call(method, target, _body(acme.ids), intruder)
            walked += 1
            if path in ("/users", "/organizations") and method in ("GET",) and status == 200:
                assert all(item.get("id") != acme.org_id for item in answer["items"]), (method, target)
                continue
            assert status in (400, 403, 404, 409, 422), (method, target, status, answer)
            assert acme.org_id not in json.dumps(answer or {}) or status >= 400
    assert walked >= 150
    assert _snapshot(acme) == before


def test_content_types(dynamodb: str, admin_key: str) -> None:
    """JSON is taken whatever the Content-Type says (`curl -d` sends a form type); what is not JSON gets
    a 4xx, never a 500 from the validation layer."""
    from functions.appserver.handlers.api import handler
    from localcloud.api_gateway import proxy_event
    from tests.support.api import Context

    def send(content_type: str | None, body: bytes) -> tuple[int, Any]:
        headers = {"authorization": [f"Bearer {admin_key}"]}
        if content_type is not None:
            headers["content-type"] = [content_type]
        response = handler(proxy_event("POST", "/v1/organizations", headers, body, "127.0.0.1"), Context())
        return response["statusCode"], json.loads(response.get("body") or "null")

    organization = json.dumps({"name": "Curl Co"}).encode()
    assert send("application/x-www-form-urlencoded", organization)[0] == 201
    assert send(None, organization)[0] == 201
    assert send("text/plain; charset=utf-8", organization)[0] == 201
    assert send("application/x-www-form-urlencoded", b"name=Curl+Co")[0] == 415
    assert send("multipart/form-data", b"")[0] == 415
    assert send("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--")[0] == 415
    assert send("application/json", b"{not json")[0] == 400
    assert send(None, b"\xff\xfe")[0] == 400
