"""The whole local cloud, wired from the synthesized CDK template: a device is provisioned through the
REST API (local API Gateway -> Api Lambda), then a simulated packet forwarder and an OTAA device (the
reference model) join through the bridge, the IoT rules engine, the network-server and join-server
Lambdas (worker processes) and DynamoDB on moto; the application sees the join and the decrypted uplink
on its MQTT topics, and the API reports the device active."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.types import AES128Key
from functions.simulator.fleet import CAYENNE_TEMPERATURE, FleetSettings, make_device, run_fleet
from localstack.broker import Mosquitto
from localstack.cloud import CloudSettings, LocalCloud, local_admin_api_key
from localstack.dynamodb import free_port
from localstack.mqtt import ServiceSession
from tests.functional.test_bridge import running
from tests.support.mosquitto import Inbox

APP_KEY = AES128Key.parse("8899aabbccddeeff0011223344556677")


@pytest.fixture
def cloud(broker: Mosquitto, tmp_path: Path) -> Iterator[LocalCloud]:
    local = LocalCloud(broker, CloudSettings(data_dir=tmp_path, api_port=free_port(), concurrency=3)).start()
    try:
        yield local
    finally:
        local.stop()


def api(cloud: LocalCloud, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    assert cloud.api is not None
    key = local_admin_api_key(cloud.settings.data_dir)
    request = urllib.request.Request(
        f"{cloud.api.url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")


@pytest.mark.slow
def test_provision_join_and_uplink_through_the_whole_local_cloud(
    broker: Mosquitto, cloud: LocalCloud
) -> None:
    inbox = Inbox(broker, "application/#")
    device = make_device(FleetSettings(otaa=True, app_key=APP_KEY), 0)
    status, created = api(
        cloud,
        "POST",
        "/devices",
        {
            "dev_eui": str(device.dev_eui),
            "join_eui": str(device.join_eui),
            "name": "roof",
            "application_id": "weather",
            "app_key": APP_KEY.hex(),
        },
    )
    assert status == 201 and created["activated"] is False
    events = f"application/weather/device/{device.dev_eui}/event"

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        stop = asyncio.Event()
        settings = FleetSettings(bridge=app.udp_address, otaa=True, app_key=APP_KEY, interval_s=1.0)
        fleet = asyncio.create_task(run_fleet(settings, stop))
        loop = asyncio.get_running_loop()
        (join,) = await loop.run_in_executor(None, inbox.wait, f"{events}/join", 1, 40)
        assert join["deviceInfo"]["deviceName"] == "roof"
        (up,) = await loop.run_in_executor(None, inbox.wait, f"{events}/up", 1, 40)
        assert base64.b64decode(up["data"]) == CAYENNE_TEMPERATURE
        assert up["devAddr"] == join["devAddr"] and up["fPort"] == 1
        assert up["rxInfo"][0]["gatewayId"] == "00800000a0000000"
        # The application sends a confirmed downlink over MQTT with its own identity (ACL: its topics only);
        # it goes out after the device's next uplink, and the gateway's TX ack comes back as a txack event.
        application = ServiceSession(broker.access_for("weather"), "weather-app").start()
        command = {"devEui": str(device.dev_eui), "confirmed": True, "fPort": 42, "data": "SGVsbG8="}
        application.publish(
            f"application/weather/device/{device.dev_eui}/command/down", json.dumps(command).encode()
        )
        (txack,) = await loop.run_in_executor(None, inbox.wait, f"{events}/txack", 1, 40)
        assert txack["status"] == "OK" and txack["window"] == "RX1"
        for _ in range(200):
            if settings.received:
                break
            await asyncio.sleep(0.1)
        assert settings.received == [(str(device.dev_eui), 42, b"Hello")]
        (ack,) = await loop.run_in_executor(None, inbox.wait, f"{events}/ack", 1, 40)
        assert ack["acknowledged"] is True
        application.stop()
        stop.set()
        counts = await fleet
        assert counts["joins"] >= 1 and counts["downlinks"] >= 1
        await app.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 120))
    finally:
        inbox.close()
    status, state = api(cloud, "GET", f"/devices/{device.dev_eui}")
    assert status == 200 and state["activated"] is True and state["f_cnt_up"] >= 1
