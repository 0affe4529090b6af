"""One local cloud and one gateway bridge per test module (starting them is most of a scenario's time),
an API client for the provisioning helpers, an inbox on the applications' and gateways' MQTT topics, and
an HTTP-integration receiver for the tests' applications. Every event either of them sees goes through
the strict ChirpStack checker (`tests/support/chirpstack.py`): a test that saw a message ChirpStack's own
definitions refuse fails."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.simulator import provisioning
from localcloud import station
from localcloud.broker import BRIDGE_IDENTITY, Mosquitto
from localcloud.cloud import CloudSettings, LocalCloud
from localcloud.dynamodb import free_port
from tests.support.chirpstack import NotChirpStack, check_integration_event
from tests.support.mosquitto import Inbox

ROOT = Path(__file__).resolve().parents[2]
JOIN_EUI = EUI64.parse("70b3d57ed00e2e00")
# The gateways the e2e tests use, registered through the API before the bridge takes them, as an operator
# would: the network refuses frames of unknown gateways (the shipped setting).
E2E_GATEWAYS = (
    "00800000e2e00001", "00800000e2e00002", "00800000e2e00003",  # test_network_e2e
    "00800000e2e0c001", "00800000a0000000",  # test_local_cloud_e2e (its own, the simulator's first)
    "00800000e2e0d001",  # test_mac_control_e2e
    "4e7b2799b9bfd428",  # test_mote_emulator_e2e
)  # fmt: skip
NewDevice = Callable[..., tuple[EndDevice, dict[str, Any]]]


@dataclass(frozen=True)
class Api:
    """Where the local API is and the token to call it with (for `functions.simulator.provisioning`)."""

    url: str
    token: str

    def device(self, dev_eui: str) -> dict[str, Any]:
        return provisioning.get_device(self.url, self.token, dev_eui)


WARMED = ("functions.network.handlers.uplink.handler", "functions.appserver.handlers.join_server.handler")


def warm(local: LocalCloud, concurrency: int) -> None:
    """Every worker of the functions a JoinRequest passes through, started before the first test, as a
    deployment with traffic (or provisioned concurrency) has them: on this shared machine three cold
    uplink workers and a cold join server can take a JoinAccept past its join windows, and the network
    server then rightly sends nothing (README "Downlinks that would miss their window"). Each gets an
    event it refuses (an uplink without a frame, a JoinReq without fields): counted and logged as such."""
    assert local.lambdas is not None and local.template is not None
    lambdas = local.lambdas
    handlers = {f.handler: name for name, f in local.template.functions.items()}
    names = [handlers[h] for h in WARMED]
    with ThreadPoolExecutor(max_workers=concurrency * len(names)) as pool:
        list(pool.map(lambda name: lambdas.invoke(name, {}), [n for n in names for _ in range(concurrency)]))


@pytest.fixture(scope="module")
def cloud(broker: Mosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    data_dir = tmp_path_factory.mktemp("cloud")
    # Basics Station ports are chosen here so the API can hand out the URIs; a module's bridge takes them.
    uris = station.station_uris("localhost", free_port(), free_port())
    # The tests' HTTP integration receiver listens on loopback: the operator setting a development
    # machine turns on (refused by default, as on AWS).
    # The shipped cdk.json, but functions log at INFO: tests read the uplink function's outcome lines.
    settings = CloudSettings(
        data_dir=data_dir, api_port=free_port(), concurrency=3, station_uris=uris,
        allow_private_webhooks=True, context={"log_level": "INFO"},
    )  # fmt: skip
    local = LocalCloud(broker, settings).start()
    try:
        warm(local, settings.concurrency)
        yield local
    finally:
        local.stop()


@dataclass
class HttpReceiver:
    """The applications' HTTP integration endpoint: a real HTTP server on loopback that takes every
    delivery, checks it strictly and keeps (event type, body)."""

    url: str = ""
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, query: str, body: bytes) -> None:
        event_type = urllib.parse.parse_qs(query).get("event", [""])[0]
        try:
            check_integration_event(event_type, body)
        except NotChirpStack as exc:
            with self.lock:
                self.violations.append(f"HTTP {event_type}: {exc}")
        with self.lock:
            self.events.append((event_type, json.loads(body)))

    def assert_chirpstack(self) -> None:
        assert not self.violations, "not ChirpStack v4:\n" + "\n".join(self.violations)


@pytest.fixture(scope="module")
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.take(urllib.parse.urlsplit(self.path).query, body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
    receiver.assert_chirpstack()


@pytest.fixture(scope="module")
def api(cloud: LocalCloud, http_receiver: HttpReceiver) -> Api:
    """The API, with the tests' applications sending every event to `http_receiver` too."""
    assert cloud.api is not None
    found = Api(cloud.api.url, provisioning.admin_token(cloud.settings.data_dir))
    for application in provisioning.TEST_APPLICATIONS:
        provisioning.set_http_integration(found.url, found.token, http_receiver.url, application)
    return found


@pytest.fixture(scope="module")
def bridge(
    broker: Mosquitto, api: Api, cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """The gateway bridge as `make run` starts it (its own process, IoT Core's publish limits on), with
    the tests' gateways registered."""
    for gateway_id in E2E_GATEWAYS:
        provisioning.register_gateway(api.url, api.token, gateway_id)
    access = broker.access_for(BRIDGE_IDENTITY)
    udp_port, health_port = free_port(), free_port()
    log = (tmp_path_factory.mktemp("bridge") / "bridge.log").open("wb")
    command = [
        sys.executable, "-m", "functions.bridge", "--udp-host", "127.0.0.1", "--udp-port", str(udp_port),
        "--health-port", str(health_port), "--mqtt-endpoint", access.host, "--mqtt-port", str(access.port),
        "--ca", str(access.ca_path), "--cert", str(access.cert_path), "--key", str(access.key_path),
        "--client-id", f"loraless-bridge-e2e-{os.getpid()}-{udp_port}", "--rate-limit", "0",
    ]  # fmt: skip
    assert cloud.template is not None  # its Basic Ingest setting, as the deployed container gets it
    environment = {**os.environ, **cloud.template.bridge_environment}
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment)
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
    """Everything published to applications and gateways from now on."""
    watching = Inbox(broker, "application/#", "+/gateway/#")
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
