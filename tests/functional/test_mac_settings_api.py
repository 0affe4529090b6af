"""Operator MAC control through the REST API (Api Lambda handler, DynamoDB on moto): a device profile's
MAC settings are validated for its region, copied to its devices, handed to the network's desired state
of every activated device when the profile changes, shown per device beside what the device acknowledged;
a one-shot DevStatusReq is requested with one call. The radio side (request -> answer -> applied) is the
network's (tests/functional/test_network_mac.py) and end to end in tests/e2e/test_mac_control_e2e.py."""

from __future__ import annotations

from typing import Any

from functions.appserver.models import Device
from functions.network.models import DeviceSession
from tests.support.api import call, make_tenant, ok

ABP = {"dev_addr": "26011bda", "app_s_key": "ec925802ae430ca77fd3dd73cb2cc588",
       "nwk_s_key": "44024241ed4ce9a68c6a8bc055233fd3"}  # fmt: skip


def profile_body(profile: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {k: v for k, v in profile.items() if k not in ("id", "organization_id")}
    return body | changes


def test_profile_mac_settings_reach_devices_and_the_network(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    ids = acme.ids
    profile = ok("GET", f"/device-profiles/{ids['profile_id']}", token=acme.viewer)
    assert profile["mac"]["rx1_dr_offset"] is None and profile["flush_queue_on_activate"] is False
    ok("POST", f"/devices/{ids['dev_eui']}/activate", ABP, acme.device_admin, 204)
    assert ok("GET", f"/devices/{ids['dev_eui']}/mac", token=acme.viewer)["acknowledged"]["rx2_dr"] == 0

    mac = {"rx1_dr_offset": 1, "extra_channels": [{"frequency": 867_100_000, "min_dr": 0, "max_dr": 5}],
           "max_duty_cycle": 3, "dev_status_every_uplinks": 10}  # fmt: skip
    body = profile_body(profile, rx2_dr=3, mac=mac)
    updated = ok("PUT", f"/device-profiles/{ids['profile_id']}", body, acme.device_admin)
    assert updated["rx2_dr"] == 3 and updated["mac"]["extra_channels"][0]["frequency"] == 867_100_000
    wanted = {"rx2_dr": 3, "rx1_dr_offset": 1, "max_duty_cycle": 3, "dev_status_every_uplinks": 10,
              "channels": {"3": [867_100_000, 0, 5]}}  # fmt: skip  # EU868: channels 0-2 are the defaults
    assert Device.get(ids["dev_eui"]).mac_settings == wanted
    session = DeviceSession.get(ids["dev_eui"])
    assert session.mac_state.desired.to_json() == wanted  # the network's desired state: next uplinks
    view = ok("GET", f"/devices/{ids['dev_eui']}/mac", token=acme.viewer)
    assert view["desired"] == wanted and view["acknowledged"]["rx2_dr"] == 0 and view["pending"] == []

    # What the device acknowledged shows once the network applied it.
    session.rx2_dr = 3
    session.mac_state.applied.max_duty_cycle = 3
    session.save()
    view = ok("GET", f"/devices/{ids['dev_eui']}/mac", token=acme.viewer)
    assert view["acknowledged"]["rx2_dr"] == 3 and view["acknowledged"]["max_duty_cycle"] == 3


def test_settings_the_region_does_not_have_are_refused(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    profile = ok("GET", f"/device-profiles/{acme.ids['profile_id']}", token=acme.viewer)
    for changes in (
        {"rx2_dr": 15},  # EU868 has no DR15
        {"mac": {"extra_channels": [{"frequency": 867_100_000, "min_dr": 6, "max_dr": 2}]}},
        {"mac": {"max_duty_cycle": 16}},
        {"mac": {"unknown_setting": 1}},
    ):
        path = f"/device-profiles/{acme.ids['profile_id']}"
        status, answer = call("PUT", path, profile_body(profile, **changes), acme.device_admin)
        assert status in (400, 422), (changes, status, answer)
    assert Device.get(acme.ids["dev_eui"]).mac_settings == {}


def test_a_one_shot_device_status_request(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    dev_eui = acme.ids["dev_eui"]
    path = f"/devices/{dev_eui}/mac/requests"
    assert call("POST", path, {"dev_status": True}, acme.device_admin)[0] == 409  # no session yet
    ok("POST", f"/devices/{dev_eui}/activate", ABP, acme.device_admin, 204)
    assert call("POST", path, {"dev_status": True}, acme.viewer)[0] == 403
    assert ok("POST", path, {"dev_status": True}, acme.device_admin, 202) == {"requested": ["DevStatusReq"]}
    assert DeviceSession.get(dev_eui).mac_state.desired.dev_status_now is True
    assert ok("GET", f"/devices/{dev_eui}/mac", token=acme.viewer)["dev_status_requested"] is True


def test_a_new_device_copies_its_profiles_settings_and_flush_on_activation(
    dynamodb: str, admin_key: str
) -> None:
    acme = make_tenant(admin_key, "Acme")
    ids = acme.ids
    profile = ok("POST", "/device-profiles", {"organization_id": ids["org_id"], "name": "flushing",
                 "rx1_delay": 3, "flush_queue_on_activate": True}, acme.admin, 201)  # fmt: skip
    dev_eui = "00000000000000f1"
    ok("POST", "/devices", {"dev_eui": dev_eui, "application_id": ids["application_id"], "name": "f1",
       "device_profile_id": profile["id"], "app_key": "2b7e151628aed2a6abf7158809cf4f3c"},
       acme.admin, 201)  # fmt: skip
    assert Device.get(dev_eui).mac_settings == {"rx1_delay": 3}
    ok("POST", f"/devices/{dev_eui}/queue", {"f_port": 3, "data": "AQID"}, acme.device_admin, 201)
    ok("POST", f"/devices/{dev_eui}/activate", ABP, acme.device_admin, 204)
    assert ok("GET", f"/devices/{dev_eui}/queue", token=acme.viewer)["items"] == []  # flushed
    assert DeviceSession.get(dev_eui).rx1_delay == 3
