"""Operator MAC control end to end, on one local cloud: the operator changes a device profile's RX2 data
rate through the REST API; at the device's next uplink the network sends RXParamSetupReq (the reference
device model applies it and answers RXParamSetupAns in its next uplink); from then on the RX2 window of
its downlinks uses the new data rate, which a gateway that refuses RX1 makes visible on the air."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from functions.lorawan.mac_commands import RXParamSetupReq
from functions.simulator.provisioning import (
    application_topic,
    create_device_profile,
    device_mac,
    enqueue_downlink,
    update_device_profile,
)
from functions.simulator.radio import Air, join
from tests.e2e.conftest import Api, NewDevice
from tests.support.mosquitto import Inbox

pytestmark = pytest.mark.slow
GATEWAY = "00800000e2e0d001"
RX2_FREQUENCY_MHZ = 869.525  # EU868 (RP002-1.0.4 §2.4.7)


def test_changing_the_profiles_rx2_data_rate_converges_the_device(
    bridge: tuple[str, int], api: Api, inbox: Inbox, new_device: NewDevice
) -> None:
    profile = create_device_profile(api.url, api.token, "mac-control", region="EU868", mac_version="1.0.3")
    device, created = new_device("mac-control", profile_id=profile["id"])
    dev_eui = str(device.dev_eui)

    async def scenario() -> None:
        async with Air(bridge, [GATEWAY]) as air:
            await join(air, device)
            await asyncio.to_thread(inbox.wait, application_topic(created, "join"), 1, 20)
            assert device.rx2_data_rate == 0  # EU868's default, from the JoinAccept
            update_device_profile(api.url, api.token, profile["id"], rx2_dr=3)
            assert device_mac(api.url, api.token, dev_eui)["desired"]["rx2_dr"] == 3

            air.transmit(device, device.uplink(1, b"\x01"))
            heard = await air.downlink(15)
            received = device.downlink(heard.phy_payload)
            requests: list[Any] = [c for c in received.mac_commands if isinstance(c, RXParamSetupReq)]
            assert [r.rx2_data_rate for r in requests] == [3]
            assert device.rx2_data_rate == 3  # the device took it; its answer rides in the next uplink
            assert device_mac(api.url, api.token, dev_eui)["pending"] == ["RXParamSetupReq"]

            # The gateway refuses RX1, so the bridge falls back to the RX2 item the network prepared.
            air.forwarders[GATEWAY].tx_ack_error = lambda txpk: (
                "NONE" if txpk["freq"] == RX2_FREQUENCY_MHZ else "TOO_LATE"
            )
            enqueue_downlink(api.url, api.token, dev_eui, f_port=5, data=b"rx2")
            air.transmit(device, device.uplink(1, b"\x02"))
            first = await air.downlink(15)
            assert first.txpk["freq"] != RX2_FREQUENCY_MHZ  # RX1, refused
            second = await air.downlink(5)
            assert (second.txpk["freq"], second.txpk["datr"]) == (RX2_FREQUENCY_MHZ, "SF9BW125")  # DR3
            got = device.downlink(second.phy_payload)
            assert (got.f_port, got.payload) == (5, b"rx2")
            await asyncio.to_thread(inbox.wait, application_topic(created, "txack"), 1, 20)

    asyncio.run(asyncio.wait_for(scenario(), 120))
    mac = device_mac(api.url, api.token, dev_eui)
    assert mac["acknowledged"]["rx2_dr"] == 3 and mac["pending"] == [] and mac["refused"] == {}
