"""Basics Station credentials through the API, checked by the bridge's own directory on the same tables:
a gateway admin issues a token (a viewer may not), the bridge's LNS accepts exactly the current token,
CUPS accepts the current and the previous one and hands out the current one (opened from its sealed
copy), and what the gateway said in `version` shows on the gateway."""

from __future__ import annotations

import pytest

from functions.bridge.basicstation.directory import DynamoDirectory
from functions.network.models import Gateway
from functions.shared.station_credentials import StationCredentials
from tests.support.api import Tenant, call, make_tenant, ok


@pytest.fixture
def acme(dynamodb: str, admin_key: str) -> Tenant:
    return make_tenant(admin_key, "Acme")


def test_issue_rotate_and_check_station_credentials(acme: Tenant) -> None:
    gateway_id = acme.ids["gateway_id"]
    path = f"/gateways/{gateway_id}/station-credentials"
    assert call("POST", path, token=acme.viewer)[0] == 403
    assert call("POST", path, token=acme.device_admin)[0] == 403
    assert call("POST", "/gateways/0000000000000bad/station-credentials", token=acme.admin)[0] == 404
    first = ok("POST", path, token=acme.gateway_admin, status=201)
    assert first["tc_key"] == f"Authorization: Bearer {first['token']}\r\n"
    stored = StationCredentials.get(gateway_id)
    assert first["token"] not in str(stored.attribute_values)  # only a hash and a sealed copy

    directory = DynamoDirectory()
    lns = directory.lookup(gateway_id)
    assert lns is not None and lns.accepts(first["token"]) and not lns.accepts("guess")

    second = ok("POST", path, token=acme.admin, status=201)
    assert second["token"] != first["token"]
    fresh = DynamoDirectory()  # no cache: as another bridge process would see it
    lns = fresh.lookup(gateway_id)
    assert lns is not None and lns.accepts(second["token"]) and not lns.accepts(first["token"])
    cups = fresh.cups_lookup(gateway_id)
    assert cups is not None and cups.token == second["token"]
    from functions.shared.station_credentials import token_hash

    assert set(cups.accepted_sha256) == {token_hash(first["token"]), token_hash(second["token"])}

    shown = ok("GET", f"/gateways/{gateway_id}", token=acme.viewer)["basic_station"]
    assert shown["credentials_issued_at"] and shown["version"] is None
    fresh.record_station(gateway_id, {"station": "2.0.6(linux/testsim)", "model": "linux", "protocol": 2,
                                      "features": "rmtsh", "connected_at": 1_800_000_000})  # fmt: skip
    shown = ok("GET", f"/gateways/{gateway_id}", token=acme.viewer)["basic_station"]
    assert (shown["version"], shown["model"], shown["protocol"]) == ("2.0.6(linux/testsim)", "linux", 2)
    assert shown["connected_at"] == "2027-01-15T08:00:00Z"
    assert (
        "basic_station"
        not in ok("GET", f"/gateways?organization_id={acme.org_id}", token=acme.viewer)["items"][0]
    )

    ok("DELETE", f"/gateways/{gateway_id}", token=acme.gateway_admin, status=204)
    assert DynamoDirectory().lookup(gateway_id) is None  # its token went with it


def test_a_gateway_without_credentials_is_unknown_to_the_bridge(dynamodb: str) -> None:
    Gateway("00000000000000aa").save()  # heard over UDP, owned by nobody
    assert DynamoDirectory().lookup("00000000000000aa") is None
    assert DynamoDirectory().cups_lookup("00000000000000aa") is None
