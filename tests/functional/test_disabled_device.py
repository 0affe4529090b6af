"""A disabled device (ChirpStack's "device is disabled"): its frames are dropped, counted, and change
nothing; enabling it again resumes where it was. The API's switch reaches the network server's session."""

from __future__ import annotations

import pytest

from functions.network.models import DeviceSession
from functions.network.uplink import handle_reception
from tests.functional.test_network_pipeline import World, joined_device, reception
from tests.support.api import make_tenant, ok


def test_frames_of_a_disabled_device_are_dropped(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(monkeypatch)
    device = joined_device(world)
    assert handle_reception(reception(device.uplink(2, b"a").phy_payload), world.pipeline()) == "uplink"
    DeviceSession.get(str(device.dev_eui)).update(actions=[DeviceSession.disabled.set(True)])
    events = len(world.events)
    assert handle_reception(reception(device.uplink(2, b"b").phy_payload), world.pipeline()) == "disabled"
    assert len(world.events) == events and world.counts["DisabledDeviceFrames"] == 1
    assert DeviceSession.get(str(device.dev_eui)).f_cnt_up == 1
    DeviceSession.get(str(device.dev_eui)).update(actions=[DeviceSession.disabled.set(False)])
    assert handle_reception(reception(device.uplink(2, b"c").phy_payload), world.pipeline()) == "uplink"


def test_the_api_switch_reaches_the_session(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    dev_eui, profile = acme.ids["dev_eui"], acme.ids["profile_id"]
    abp = {"dev_addr": "26011bda", "app_s_key": "ec925802ae430ca77fd3dd73cb2cc588",
           "nwk_s_key": "44024241ed4ce9a68c6a8bc055233fd3"}  # fmt: skip
    ok("POST", f"/devices/{dev_eui}/activate", abp, acme.admin, 204)
    assert DeviceSession.get(dev_eui).disabled is False
    ok(
        "PUT",
        f"/devices/{dev_eui}",
        {"name": "one", "device_profile_id": profile, "enabled": False},
        acme.admin,
    )
    assert DeviceSession.get(dev_eui).disabled is True
    assert ok("GET", f"/devices/{dev_eui}", token=acme.viewer)["enabled"] is False
    ok("PUT", f"/devices/{dev_eui}", {"name": "one", "device_profile_id": profile}, acme.admin)
    assert DeviceSession.get(dev_eui).disabled is False
