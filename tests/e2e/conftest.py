"""One local cloud and one gateway bridge per test module (starting them is most of a scenario's time),
an API client for the provisioning helpers, and an inbox on the applications' MQTT topics."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from localcloud.broker import BRIDGE_IDENTITY, Mosquitto
from localcloud.cloud import CloudSettings, LocalCloud
from localcloud.dynamodb import free_port
from tests.support import provisioning
from tests.support.mosquitto import Inbox

ROOT = Path(__file__).resolve().parents[2]
JOIN_EUI = EUI64.parse("70b3d57ed00e2e00")
NewDevice = Callable[..., tuple[EndDevice, dict[str, Any]]]


@dataclass(frozen=True)
class Api:
    """Where the local API is and the token to call it with (for `tests.support.provisioning`)."""

    url: str
    token: str

    def device(self, dev_eui: str) -> dict[str, Any]:
        return provisioning.get_device(self.url, self.token, dev_eui)


@pytest.fixture(scope="module")
def cloud(broker: Mosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    data_dir = tmp_path_factory.mktemp("cloud")
    local = LocalCloud(broker, CloudSettings(data_dir=data_dir, api_port=free_port(), concurrency=3)).start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def api(cloud: LocalCloud) -> Api:
    assert cloud.api is not None
    return Api(cloud.api.url, provisioning.admin_token(cloud.settings.data_dir))


@pytest.fixture(scope="module")
def bridge(broker: Mosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The gateway bridge as `make run` starts it (its own process, IoT Core's publish limits on)."""
    access = broker.access_for(BRIDGE_IDENTITY)
    udp_port, health_port = free_port(), free_port()
    log = (tmp_path_factory.mktemp("bridge") / "bridge.log").open("wb")
    command = [
        sys.executable, "-m", "functions.bridge", "--udp-host", "127.0.0.1", "--udp-port", str(udp_port),
        "--health-port", str(health_port), "--mqtt-endpoint", access.host, "--mqtt-port", str(access.port),
        "--ca", str(access.ca_path), "--cert", str(access.cert_path), "--key", str(access.key_path),
        "--client-id", f"loraless-bridge-e2e-{os.getpid()}-{udp_port}", "--rate-limit", "0",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{health_port}/", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the bridge did not start"
                time.sleep(0.1)
        yield ("127.0.0.1", udp_port)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def inbox(broker: Mosquitto) -> Iterator[Inbox]:
    """Everything published to applications from now on."""
    watching = Inbox(broker, "application/#")
    try:
        yield watching
    finally:
        watching.close()


@pytest.fixture(scope="module")
def new_device(api: Api) -> NewDevice:
    """`new_device(name, **provisioning options)`: a reference OTAA device (LoRaWAN 1.0.3, EU868, its own
    DevEUI and AppKey) and the API's view of it once provisioned."""
    numbers = itertools.count(1)

    def make(name: str, **options: Any) -> tuple[EndDevice, dict[str, Any]]:
        number = next(numbers)
        app_key = AES128Key((0xE2E0 + number).to_bytes(16, "big"))
        device = otaa(
            EUI64.from_int(0x70B3D57ED00E2E00 + number), JOIN_EUI, get_region("EU868"), app_key=app_key,
            seed=number,
        )  # fmt: skip
        created = provisioning.provision_device(
            api.url, api.token, dev_eui=str(device.dev_eui), join_eui=str(JOIN_EUI), app_key=app_key.hex(),
            name=name, **options,
        )  # fmt: skip
        assert created["activated"] is False
        return device, created

    return make
