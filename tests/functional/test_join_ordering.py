"""Joins processed out of order (found by the local-cloud load bench): under a backlog an older
JoinRequest can run after a newer one whose JoinAccept the device already took. The older one must not
replace the session (nor ask the join server, which would store its AppSKey), or the device is cut off."""

from __future__ import annotations

import dataclasses

import pytest

from functions.appserver.models import Device
from functions.lorawan.device import otaa
from functions.lorawan.types import EUI64
from functions.network.models import DeviceSession
from functions.network.uplink import handle_reception
from tests.functional.test_network_pipeline import (
    APP_KEY,
    EU868,
    JOIN_EUI,
    RECEIVED_AT_MS,
    World,
    downlink_payload,
    provision,
    reception,
)

DEV_EUI = "0004a30b001c0530"


def test_an_older_join_processed_later_changes_nothing(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(monkeypatch)
    provision(EUI64.parse(DEV_EUI), "1.0.3")
    device = otaa(EUI64.parse(DEV_EUI), JOIN_EUI, EU868, app_key=APP_KEY, seed=1)
    older = dataclasses.replace(
        reception(device.join_request().phy_payload), received_at_ms=RECEIVED_AT_MS - 3_000
    )
    newer = dataclasses.replace(
        reception(device.join_request().phy_payload), received_at_ms=RECEIVED_AT_MS - 2_000
    )
    assert handle_reception(newer, world.pipeline()) == "joined"
    assert device.accept_join(downlink_payload(world))
    session = DeviceSession.get(DEV_EUI)
    app_s_key = Device.get(DEV_EUI).app_s_key
    joins = len(world.commands)
    assert handle_reception(older, world.pipeline()) == "stale_join"
    assert world.counts["StaleJoins"] == 1 and len(world.commands) == joins  # no JoinAccept
    assert DeviceSession.get(DEV_EUI).dev_addr == session.dev_addr
    assert Device.get(DEV_EUI).app_s_key == app_s_key  # the join server was not asked
    up = dataclasses.replace(
        reception(device.uplink(2, b"\x01").phy_payload), received_at_ms=RECEIVED_AT_MS - 1_000
    )
    assert handle_reception(up, world.pipeline()) == "uplink"
    # A later JoinRequest (the device rejoining) is taken as usual.
    again = dataclasses.replace(reception(device.join_request().phy_payload), received_at_ms=RECEIVED_AT_MS)
    assert handle_reception(again, world.pipeline()) == "joined"
