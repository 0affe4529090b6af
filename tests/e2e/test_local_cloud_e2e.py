"""The whole local cloud, wired from the synthesized CDK template: a simulated packet forwarder and an
OTAA device (the reference model) join through the bridge, the IoT rules engine, the network-server and
join-server Lambdas (worker processes) and DynamoDB on moto; the application sees the join and the
decrypted uplink on its MQTT topics."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.lorawan.types import AES128Key
from functions.shared import envelope
from functions.shared.models import ALL_MODELS, Device, DeviceSession, table_env
from functions.simulator.fleet import CAYENNE_TEMPERATURE, FleetSettings, make_device, run_fleet
from localstack.broker import Mosquitto
from localstack.cloud import CloudSettings, LocalCloud, local_master_key
from localstack.dynamodb import free_port
from tests.functional.test_bridge import running
from tests.support.mosquitto import Inbox

APP_KEY = AES128Key.parse("8899aabbccddeeff0011223344556677")


@pytest.fixture
def cloud(broker: Mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloud]:
    settings = CloudSettings(data_dir=tmp_path, api_port=free_port(), concurrency=3)
    local = LocalCloud(broker, settings).start()
    assert local.template is not None and local.dynamodb is not None
    environment = next(iter(local.template.functions.values())).environment
    saved = [(m, m.Meta.table_name, m.Meta.host, m._connection) for m in ALL_MODELS]  # type: ignore[attr-defined]
    for model in ALL_MODELS:  # this process provisions devices in the cloud's own tables
        model.Meta.table_name = environment[table_env(model)]  # type: ignore[attr-defined]
        model.Meta.host = local.dynamodb.endpoint_url  # type: ignore[attr-defined]
        model._connection = None
    monkeypatch.setattr(envelope.SETTINGS, "local_master_key", local_master_key(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    try:
        yield local
    finally:
        for model, name, host, connection in saved:
            model.Meta.table_name, model.Meta.host, model._connection = name, host, connection  # type: ignore[attr-defined]
        local.stop()


@pytest.mark.slow
def test_otaa_join_and_uplink_through_the_whole_local_cloud(broker: Mosquitto, cloud: LocalCloud) -> None:
    inbox = Inbox(broker, "application/#")
    settings = FleetSettings(otaa=True, app_key=APP_KEY, interval_s=1.0)
    device = make_device(settings, 0)
    Device(
        str(device.dev_eui),
        join_eui=str(device.join_eui),
        application_id="weather",
        name="roof",
        mac_version="1.0.3",
        root_keys=envelope.seal({"app_key": APP_KEY.hex()}, context=str(device.dev_eui)),
    ).save()

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        stop = asyncio.Event()
        fleet = asyncio.create_task(
            run_fleet(FleetSettings(bridge=app.udp_address, otaa=True, app_key=APP_KEY, interval_s=1.0), stop)
        )
        loop = asyncio.get_running_loop()
        (join,) = await loop.run_in_executor(
            None, inbox.wait, f"application/weather/device/{device.dev_eui}/event/join", 1, 40
        )
        assert join["deviceInfo"]["deviceName"] == "roof"
        (up,) = await loop.run_in_executor(
            None, inbox.wait, f"application/weather/device/{device.dev_eui}/event/up", 1, 40
        )
        assert base64.b64decode(up["data"]) == CAYENNE_TEMPERATURE
        assert up["devAddr"] == join["devAddr"] and up["fPort"] == 1
        assert up["rxInfo"][0]["gatewayId"] == "00800000a0000000"
        stop.set()
        counts = await fleet
        assert counts["joins"] >= 1 and counts["downlinks"] >= 1
        await app.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 120))
        assert DeviceSession.get(str(device.dev_eui)).f_cnt_up >= 1
    finally:
        inbox.close()
