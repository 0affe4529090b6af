"""The whole local cloud, wired from the synthesized CDK template: devices are provisioned through the
REST API (local API Gateway -> Api Lambda), then simulated packet forwarders and OTAA devices (the
reference model) join through the bridge, the IoT rules engine, the network-server and join-server Lambdas
(worker processes) and DynamoDB on moto; the application sees joins, decrypted uplinks and downlink
acknowledgements on its MQTT topics, and the API reports the devices active.

Application downlinks both ways: a confirmed one over MQTT waits for the class A device's next uplink and
goes out in RX1; a class C device gets one queued through the API at once, with no uplink first.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest

from functions.lorawan.types import AES128Key
from functions.simulator.fleet import CAYENNE_TEMPERATURE, FleetSettings, make_device, run_fleet
from functions.simulator.provisioning import application_topic, enqueue_downlink, provision_device
from functions.simulator.radio import Air, join
from localcloud.broker import Mosquitto
from localcloud.mqtt import ServiceSession
from tests.e2e.conftest import Api, HttpReceiver, NewDevice
from tests.support.mosquitto import Inbox

pytestmark = pytest.mark.slow
APP_KEY = AES128Key.parse("8899aabbccddeeff0011223344556677")


def test_provision_join_uplink_and_mqtt_downlink_with_the_simulator(
    broker: Mosquitto, bridge: tuple[str, int], api: Api, inbox: Inbox, http_receiver: HttpReceiver
) -> None:
    device = make_device(FleetSettings(otaa=True, app_key=APP_KEY), 0)
    created = provision_device(
        api.url, api.token, dev_eui=str(device.dev_eui), join_eui=str(device.join_eui), app_key=APP_KEY.hex(),
        name="roof", application="weather",
    )  # fmt: skip
    assert created["activated"] is False
    events = application_topic(created, "").rstrip("/")
    application_id = created["application_id"]

    async def scenario() -> None:
        stop = asyncio.Event()
        settings = FleetSettings(bridge=bridge, otaa=True, app_key=APP_KEY, interval_s=1.0)
        fleet = asyncio.create_task(run_fleet(settings, stop))
        loop = asyncio.get_running_loop()
        (joined,) = await loop.run_in_executor(None, inbox.wait, f"{events}/join", 1, 40)
        assert joined["deviceInfo"]["deviceName"] == "roof"
        (up,) = await loop.run_in_executor(None, inbox.wait, f"{events}/up", 1, 40)
        assert base64.b64decode(up["data"]) == CAYENNE_TEMPERATURE
        assert up["devAddr"] == joined["devAddr"] and up["fPort"] == 1
        assert up["rxInfo"][0]["gatewayId"] == "00800000a0000000"
        # The application sends a confirmed downlink over MQTT with its own identity (ACL: its topics only);
        # it goes out after the device's next uplink, and the gateway's TX ack comes back as a txack event.
        application = ServiceSession(broker.access_for(application_id), application_id).start()
        command_id = "5b6a3c52-0d2f-4a4e-9f51-7f1d7e0f2a11"  # the application's own id for the item
        command = {"id": command_id, "devEui": str(device.dev_eui), "confirmed": True, "fPort": 42,
                   "data": "SGVsbG8="}  # fmt: skip
        application.publish(
            f"application/{application_id}/device/{device.dev_eui}/command/down", json.dumps(command).encode()
        )
        (txack,) = await loop.run_in_executor(None, inbox.wait, f"{events}/txack", 1, 40)
        assert txack["queueItemId"] == command_id and txack["gatewayId"] == "00800000a0000000"
        for _ in range(200):
            if settings.received:
                break
            await asyncio.sleep(0.1)
        assert settings.received == [(str(device.dev_eui), 42, b"Hello")]
        (ack,) = await loop.run_in_executor(None, inbox.wait, f"{events}/ack", 1, 40)
        assert ack["acknowledged"] is True and ack["queueItemId"] == command_id
        assert isinstance(ack["fCntDown"], int) and ack["deduplicationId"]
        application.stop()
        stop.set()
        counts = await fleet
        assert counts["joins"] >= 1 and counts["downlinks"] >= 1

    asyncio.run(asyncio.wait_for(scenario(), 120))
    state = api.device(str(device.dev_eui))
    assert state["activated"] is True and state["f_cnt_up"] >= 1
    # The HTTP integration got the same events (each checked strictly as it arrived); they travel apart
    # from MQTT (the Webhook function, asynchronously), so they may still be on their way.
    dev_eui = str(device.dev_eui)
    deadline = time.monotonic() + 60
    while True:
        delivered = {kind for kind, body in http_receiver.events if body["deviceInfo"]["devEui"] == dev_eui}
        if {"join", "up", "txack", "ack"} <= delivered or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {"join", "up", "txack", "ack"} <= delivered


def test_a_class_c_device_gets_a_queued_downlink_without_sending_first(
    bridge: tuple[str, int], api: Api, inbox: Inbox, new_device: NewDevice
) -> None:
    device, created = new_device("class-c", supports_class_c=True)
    gateway = "00800000e2e0c001"

    async def scenario() -> None:
        async with Air(bridge, [gateway]) as air:
            await join(air, device)
            air.transmit(device, device.uplink(1, CAYENNE_TEMPERATURE))
            await asyncio.to_thread(inbox.wait, application_topic(created, "up"), 1, 20)
            assert await air.quiet(0.5) == []
            item_id = enqueue_downlink(api.url, api.token, str(device.dev_eui), f_port=10, data=b"\x01on")
            heard = await air.downlink(15)
            assert heard.gateway_id == gateway
            # class C: sent at once in RX2 parameters (EU868: 869.525 MHz, DR0)
            assert heard.txpk["imme"] is True and "tmst" not in heard.txpk
            assert (heard.txpk["freq"], heard.txpk["datr"]) == (869.525, "SF12BW125")
            received = device.downlink(heard.phy_payload)
            assert (received.f_port, received.payload, received.confirmed) == (10, b"\x01on", False)
            (txack,) = await asyncio.to_thread(inbox.wait, application_topic(created, "txack"), 1, 20)
            assert txack["queueItemId"] == item_id and txack["fCntDown"] == 0  # its first downlink

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert api.device(str(device.dev_eui))["f_cnt_up"] == 1  # that one uplink, nothing since
