"""Accounts under attack (issue 15): sessions revoked when a password changes or a user goes, the old
password asked for, login throttled per account and per source with a lockout an administrator lifts,
integration header secrets sealed and write-only, membership by invitation, no probing of other
tenants' ids, and bodies nested too deep for the parser."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.appserver.accounts import create_user
from functions.appserver.handlers.api import handler
from functions.appserver.models import Application, Membership
from localcloud.api_gateway import proxy_event
from tests.support.api import PASSWORD, Context, Tenant, call, login, make_tenant, ok

NEW_PASSWORD = "another horse battery"


@pytest.fixture
def tenants(dynamodb: str, admin_key: str) -> tuple[Tenant, Tenant]:
    return make_tenant(admin_key, "Acme"), make_tenant(admin_key, "Globex")


def _me(token: str) -> dict[str, Any]:
    return dict(ok("GET", "/me", token=token))


def _login_from(source: str, email: str, password: str) -> tuple[int, Any]:
    body = json.dumps({"email": email, "password": password}).encode()
    event = proxy_event("POST", "/v1/login", {"content-type": ["application/json"]}, body, source)
    response = handler(event, Context())
    return response["statusCode"], json.loads(response["body"] or "null")


# -- sessions and passwords -----------------------------------------------------------------------------


def test_changing_a_password_needs_the_old_one_and_ends_every_session(dynamodb: str, admin_key: str) -> None:
    create_user("ada@example.com", PASSWORD)
    first, second = login("ada@example.com"), login("ada@example.com")
    user_id = _me(first)["user"]["id"]
    path = f"/users/{user_id}/password"
    assert call("PUT", path, {"password": NEW_PASSWORD}, first)[0] == 422  # the old one is required
    assert call("PUT", path, {"password": NEW_PASSWORD, "current_password": "a wrong guess"}, first)[0] == 403
    ok("PUT", path, {"password": NEW_PASSWORD, "current_password": PASSWORD}, first, 204)
    assert call("GET", "/me", token=first)[0] == 401  # the session that changed it too
    assert call("GET", "/me", token=second)[0] == 401
    assert call("POST", "/login", {"email": "ada@example.com", "password": PASSWORD})[0] == 401
    fresh = login("ada@example.com", NEW_PASSWORD)
    assert _me(fresh)["user"]["id"] == user_id
    # A global administrator resets someone else's password without knowing it; their sessions end too.
    ok("PUT", path, {"password": PASSWORD}, admin_key, 204)
    assert call("GET", "/me", token=fresh)[0] == 401


def test_a_removed_user_and_a_removed_member_lose_access_at_once(
    tenants: tuple[Tenant, Tenant], admin_key: str
) -> None:
    acme, _ = tenants
    viewer_id = _me(acme.viewer)["user"]["id"]
    ok("GET", f"/organizations/{acme.org_id}", token=acme.viewer)
    ok("DELETE", f"/organizations/{acme.org_id}/members/{viewer_id}", token=acme.admin, status=204)
    assert call("GET", f"/organizations/{acme.org_id}", token=acme.viewer)[0] == 404
    device_admin_id = _me(acme.device_admin)["user"]["id"]
    key = ok("POST", "/me/api-keys", {"name": "script"}, acme.device_admin, 201)["token"]
    ok("DELETE", f"/users/{device_admin_id}", token=admin_key, status=204)
    assert call("GET", "/me", token=acme.device_admin)[0] == 401
    assert call("GET", "/me", token=key)[0] == 401


# -- login throttling -----------------------------------------------------------------------------------


def test_guessing_one_account_locks_it_until_an_administrator_lifts_the_lock(
    dynamodb: str, admin_key: str
) -> None:
    create_user("bob@example.com", PASSWORD)
    statuses = [_login_from(f"10.0.0.{n}", "bob@example.com", f"guess {n}")[0] for n in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    # The right password no longer helps, from anywhere, while the account is locked.
    status, answer = _login_from("10.9.9.9", "bob@example.com", PASSWORD)
    assert status == 429 and "administrator" in answer["message"]
    user = next(u for u in ok("GET", "/users", token=admin_key)["items"] if u["email"] == "bob@example.com")
    assert user["locked"] is True
    ok("DELETE", f"/users/{user['id']}/lock", token=admin_key, status=204)
    assert _login_from("10.9.9.9", "bob@example.com", PASSWORD)[0] == 200
    assert (
        next(u for u in ok("GET", "/users", token=admin_key)["items"] if u["id"] == user["id"])["locked"]
        is False
    )


def test_an_unknown_account_is_throttled_exactly_like_a_known_one(dynamodb: str, admin_key: str) -> None:
    create_user("carol@example.com", PASSWORD)
    known = [_login_from("10.1.0.1", "carol@example.com", "x")[0] for _ in range(7)]
    unknown = [_login_from("10.1.0.2", "nobody@example.com", "x")[0] for _ in range(7)]
    assert known == unknown


def test_one_source_guessing_many_accounts_is_throttled(dynamodb: str, admin_key: str) -> None:
    create_user("carol@example.com", PASSWORD)
    # One guess per account (no account lock), 25 accounts: the source's own limit stops it.
    statuses = [_login_from("192.0.2.7", f"user{n}@example.com", "guess")[0] for n in range(25)]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    assert _login_from("192.0.2.7", "carol@example.com", PASSWORD)[0] == 429  # that source waits
    assert _login_from("198.51.100.1", "carol@example.com", PASSWORD)[0] == 200  # others do not


# -- integration header secrets -------------------------------------------------------------------------


def test_integration_headers_are_sealed_at_rest_and_never_shown(
    tenants: tuple[Tenant, Tenant], admin_key: str
) -> None:
    acme, _ = tenants
    app_id = acme.ids["application_id"]
    path = f"/applications/{app_id}/integrations/http"
    config = {"url": "https://example.com/hook", "headers": {"Authorization": "Bearer s3cr3t-token-value"}}
    answer = ok("PUT", path, config, acme.admin)
    assert "s3cr3t" not in json.dumps(answer) and answer["headers"] == ["Authorization"]
    for token in (acme.admin, acme.viewer, admin_key):
        shown = ok("GET", path, token=token)
        assert "s3cr3t" not in json.dumps(shown) and shown["headers"] == ["Authorization"]
    stored = Application.get(app_id).http_integration
    assert "s3cr3t" not in json.dumps(stored)
    from functions.appserver.webhooks import load_integration

    integration = load_integration(app_id)
    assert integration is not None and integration.headers == {"Authorization": "Bearer s3cr3t-token-value"}
    # Writing the URL again without headers keeps them (write-only: the client never had them to resend).
    ok("PUT", path, {"url": "https://example.com/other"}, acme.admin)
    kept = load_integration(app_id)
    assert kept is not None and kept.headers == {"Authorization": "Bearer s3cr3t-token-value"}
    ok("PUT", path, {"url": "https://example.com/other", "headers": {}}, acme.admin)
    cleared = load_integration(app_id)
    assert cleared is not None and cleared.headers == {}


@pytest.mark.parametrize("name", ["Host", "Content-Length", "Transfer-Encoding", "X-Loraless-Signature"])
def test_headers_that_would_change_the_request_itself_are_refused(
    tenants: tuple[Tenant, Tenant], name: str
) -> None:
    acme, _ = tenants
    path = f"/applications/{acme.ids['application_id']}/integrations/http"
    config = {"url": "https://example.com/hook", "headers": {name: "169.254.169.254"}}
    assert call("PUT", path, config, acme.admin)[0] == 400


# -- membership by invitation ---------------------------------------------------------------------------


def test_membership_is_an_invitation_the_user_accepts(tenants: tuple[Tenant, Tenant]) -> None:
    acme, _ = tenants
    create_user("dave@example.com", PASSWORD)
    dave = login("dave@example.com")
    members = f"/organizations/{acme.org_id}/members"
    known = call("POST", members, {"email": "dave@example.com", "role": "viewer"}, acme.admin)
    unknown = call("POST", members, {"email": "nobody@example.com", "role": "viewer"}, acme.admin)
    assert known[0] == unknown[0] == 202 and known[1].keys() == unknown[1].keys()
    assert call("GET", f"/organizations/{acme.org_id}", token=dave)[0] == 404  # not a member yet
    assert "dave@example.com" not in [m["email"] for m in ok("GET", members, token=acme.admin)["items"]]
    (invitation,) = ok("GET", "/me/invitations", token=dave)["items"]
    assert invitation == {"organization_id": acme.org_id, "organization_name": "Acme", "role": "viewer"}
    ok("POST", f"/me/invitations/{acme.org_id}", token=dave)
    assert ok("GET", f"/organizations/{acme.org_id}", token=dave)["name"] == "Acme"
    assert ok("GET", "/me/invitations", token=dave)["items"] == []
    # Declining leaves no trace; a second invitation to a member is a no-op, not a role change.
    create_user("erin@example.com", PASSWORD)
    erin = login("erin@example.com")
    ok("POST", members, {"email": "erin@example.com", "role": "admin"}, acme.admin, 202)
    ok("DELETE", f"/me/invitations/{acme.org_id}", token=erin, status=204)
    assert call("GET", f"/organizations/{acme.org_id}", token=erin)[0] == 404
    with pytest.raises(Membership.DoesNotExist):
        Membership.get(acme.org_id, _me(erin)["user"]["id"])
    ok("POST", members, {"email": "dave@example.com", "role": "admin"}, acme.admin, 202)
    assert _me(dave)["organizations"] == [{"id": acme.org_id, "name": "Acme", "role": "viewer"}]


def test_invitations_are_listed_for_the_organization_and_can_be_withdrawn(
    tenants: tuple[Tenant, Tenant],
) -> None:
    acme, globex = tenants
    create_user("frank@example.com", PASSWORD)
    frank = login("frank@example.com")
    members = f"/organizations/{acme.org_id}/members"
    ok("POST", members, {"email": "frank@example.com", "role": "viewer"}, acme.admin, 202)
    invited = ok("GET", f"/organizations/{acme.org_id}/invitations", token=acme.admin)["items"]
    assert [i["email"] for i in invited] == ["frank@example.com"]
    assert call("GET", f"/organizations/{acme.org_id}/invitations", token=globex.admin)[0] == 404
    ok("DELETE", f"/organizations/{acme.org_id}/invitations/frank@example.com", token=acme.admin, status=204)
    assert ok("GET", "/me/invitations", token=frank)["items"] == []
    assert call("POST", f"/me/invitations/{acme.org_id}", token=frank)[0] == 404


# -- other tenants' identifiers -------------------------------------------------------------------------


def test_a_taken_id_answers_the_same_whoever_holds_it(tenants: tuple[Tenant, Tenant]) -> None:
    acme, globex = tenants
    profile, application = acme.ids["profile_id"], acme.ids["application_id"]
    own = {"dev_eui": acme.ids["dev_eui"], "application_id": application, "name": "again",
           "device_profile_id": profile, "app_key": "2b7e151628aed2a6abf7158809cf4f3c"}  # fmt: skip
    theirs = own | {"dev_eui": globex.ids["dev_eui"]}
    mine_status, mine = call("POST", "/devices", own, acme.admin)
    their_status, their = call("POST", "/devices", theirs, acme.admin)
    assert mine_status == their_status == 409
    assert mine["message"].replace(own["dev_eui"], "X") == their["message"].replace(theirs["dev_eui"], "X")
    gateway = {"organization_id": acme.org_id, "name": "again"}
    mine_status, mine = call(
        "POST", "/gateways", gateway | {"gateway_id": acme.ids["gateway_id"]}, acme.admin
    )
    their_status, their = call(
        "POST", "/gateways", gateway | {"gateway_id": globex.ids["gateway_id"]}, acme.admin
    )
    assert mine_status == their_status == 409
    assert mine["message"].replace(acme.ids["gateway_id"], "X") == their["message"].replace(
        globex.ids["gateway_id"], "X"
    )


# -- bodies the parser cannot take ----------------------------------------------------------------------


def test_a_body_nested_too_deep_is_a_400_not_a_502(dynamodb: str, admin_key: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/v1/login", "/v1/organizations"):
        headers = {"content-type": ["application/json"], "authorization": [f"Bearer {admin_key}"]}
        response = handler(proxy_event("POST", path, headers, deep, "127.0.0.1"), Context())
        assert response["statusCode"] == 400, path
        assert "nested" in json.loads(response["body"])["message"]


def test_parallel_guesses_all_count(dynamodb: str, admin_key: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from functions.appserver import login_throttle

    login_throttle.failed("zed@example.com", "203.0.113.9")  # the window exists: the rest are ADDs
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: login_throttle.failed("zed@example.com", "203.0.113.9"), range(16)))
    counter = login_throttle.LoginCounter.get(login_throttle.source_key("203.0.113.9"))
    assert counter.failures == 17
