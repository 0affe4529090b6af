"""Semtech's own LoRa Basics Station against the bridge: the real client (its `testsim` build, with the
simulated concentrator on a Unix socket) discovers the LNS, authenticates with its token, applies the
router_config the bridge sends, forwards a frame the radio hears, and transmits the downlink the
network asks for in RX1 at the uplink's counter + 1 s (and a class C one at once).

Needs the binary: build Semtech's public `lorabasics/basicstation` (`make platform=linux variant=testsim`)
and point BASICSTATION_BINARY at `build-linux-testsim/bin/station`. Skipped otherwise.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chirpstack_api import gw
from google.protobuf import json_format

from functions.bridge.app import BridgeApp
from functions.bridge.basicstation.service import StationService
from localcloud.broker import Mosquitto
from localcloud.dynamodb import free_port
from tests.functional.test_bridge import bridge_config
from tests.support.mosquitto import Inbox
from tests.support.station_radio import MemoryDirectory, SimulatedRadio

BINARY = os.environ.get("BASICSTATION_BINARY", "")
pytestmark = pytest.mark.skipif(
    not (BINARY and Path(BINARY).is_file()),
    reason="set BASICSTATION_BINARY to a Basics Station testsim build (lorabasics/basicstation)",
)

GATEWAY = "0016c001ff10d3f6"
TOKEN = "oracle-token-5f0b8c2e"
JOIN_REQUEST = bytes.fromhex("00dc0000d07ed5b3701e6fedf57ceeaf0085cc587fe913")


def station_home(directory: Path, *, uri: str, token: str, radio: Path, trust: Path) -> Path:
    conf = {
        "SX1301_conf": {"lorawan_public": True, "clksrc": 1, "device": str(radio),
                        "radio_0": {"type": "SX1257", "rssi_offset": -166.0, "tx_enable": True},
                        "radio_1": {"type": "SX1257", "rssi_offset": -166.0, "tx_enable": False}},
        "station_conf": {"routerid": GATEWAY, "log_file": "stderr", "log_level": "DEBUG"},
    }  # fmt: skip
    import json

    (directory / "station.conf").write_text(json.dumps(conf))
    (directory / "tc.uri").write_text(uri + "\n")
    (directory / "tc.key").write_text(f"Authorization: Bearer {token}\r\n")
    (directory / "tc.trust").write_bytes(trust.read_bytes())
    return directory


def short_socket_path() -> Path:
    """Station keeps the radio device path in 64 bytes: pytest's tmp paths are longer."""
    return Path(tempfile.mkdtemp(prefix="bs")) / "r.sock"


class Station:
    """The station process, its log kept for assertions and failure messages."""

    def __init__(self, home: Path) -> None:
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [BINARY, "--home", str(home), "--temp", str(home), "--log-file", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.rstrip())

    def wait_log(self, needle: str, timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(needle in line for line in self.log):
                return
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not in the station's log:\n" + "\n".join(self.log[-40:]))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def bridge_with_station(broker: Mosquitto) -> Iterator[tuple[BridgeApp, MemoryDirectory, Mosquitto]]:
    directory = MemoryDirectory({GATEWAY: TOKEN})
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = broker.ca.issue("station-lns", server=True, hosts=("localhost", "127.0.0.1"))
    lns_port, cups_port = free_port(), free_port()
    config = bridge_config(
        broker, station_port=lns_port, station_tls_cert=server.cert_path, station_tls_key=server.key_path,
        cups_port=cups_port, station_public_uri=f"wss://localhost:{lns_port}",
        cups_public_uri=f"https://localhost:{cups_port}", station_trust=broker.ca.ca_path,
    )  # fmt: skip
    app = BridgeApp(config)
    app.station = StationService.from_config(
        config, publisher=app.mqtt, metrics=app.metrics, directory=directory
    )
    assert app.station is not None
    app.station.lns.on_change = app.bridge.request_announce
    asyncio.run_coroutine_threadsafe(app.start(), loop).result(10)
    assert app.mqtt.wait_connected(10)
    yield app, directory, broker
    asyncio.run_coroutine_threadsafe(app.stop(), loop).result(20)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_real_station_joins_uplinks_and_transmits_rx1_and_class_c(
    bridge_with_station: Any, tmp_path: Path
) -> None:
    app, directory, broker = bridge_with_station
    port = app.config.station_port
    inbox = Inbox(broker, "eu868/gateway/#")
    socket_path = short_socket_path()
    radio = SimulatedRadio(socket_path)
    station = Station(
        station_home(
            tmp_path, uri=f"wss://localhost:{port}", token=TOKEN, radio=socket_path, trust=broker.ca.ca_path
        )
    )
    try:
        assert radio.connected.wait(30), "\n".join(station.log[-40:])
        (state,) = inbox.wait(f"eu868/gateway/{GATEWAY}/state/conn")
        assert state == {"gatewayId": GATEWAY, "state": "ONLINE"}
        assert directory.stations[GATEWAY]["station"].startswith("2.0")
        station.wait_log("Configuring for region: EU868")

        counter = radio.receive(JOIN_REQUEST, frequency=868_300_000, spreading_factor=9)
        (frame,) = inbox.wait(f"eu868/gateway/{GATEWAY}/event/up")
        uplink = json_format.ParseDict(frame, gw.UplinkFrame(), ignore_unknown_fields=False)
        assert uplink.phy_payload == JOIN_REQUEST
        assert uplink.tx_info.frequency == 868_300_000
        assert uplink.tx_info.modulation.lora.spreading_factor == 9
        assert uplink.rx_info.rssi == -50

        downlink = gw.DownlinkFrame(downlink_id=4242, gateway_id=GATEWAY)
        for frequency, sf in ((868_300_000, 9), (869_525_000, 12)):
            item = downlink.items.add()
            item.phy_payload = bytes.fromhex("20") + bytes(16)
            item.tx_info.frequency = frequency
            item.tx_info.power = 14
            item.tx_info.modulation.lora.bandwidth = 125_000
            item.tx_info.modulation.lora.spreading_factor = sf
            item.tx_info.modulation.lora.code_rate = gw.CodeRate.CR_4_5
            item.tx_info.modulation.lora.polarization_inversion = True
            item.tx_info.context = uplink.rx_info.context
            item.tx_info.timing.delay.delay.seconds = 5 if sf == 9 else 6
        inbox.publish(f"eu868/gateway/{GATEWAY}/command/down", json_format.MessageToDict(downlink))
        (sent,) = radio.wait_transmissions(1, timeout_s=15)
        assert sent.frequency == 868_300_000 and sent.spreading_factor == 9 and sent.invert_polarity
        assert sent.payload == bytes.fromhex("20") + bytes(16)
        assert sent.count_us == (counter + 5_000_000) & 0xFFFFFFFF  # RX1: JOIN_ACCEPT_DELAY1 after the uplink
        (ack,) = inbox.wait(f"eu868/gateway/{GATEWAY}/event/ack", timeout_s=15)
        parsed = json_format.ParseDict(ack, gw.DownlinkTxAck(), ignore_unknown_fields=False)
        assert parsed.downlink_id == 4242
        assert [i.status for i in parsed.items] == [gw.TxAckStatus.OK, gw.TxAckStatus.IGNORED]

        class_c = gw.DownlinkFrame(downlink_id=4343, gateway_id=GATEWAY)
        item = class_c.items.add()
        item.phy_payload = bytes.fromhex("60") + bytes(12)
        item.tx_info.frequency = 869_525_000
        item.tx_info.modulation.lora.bandwidth = 125_000
        item.tx_info.modulation.lora.spreading_factor = 12
        item.tx_info.timing.immediately.SetInParent()
        inbox.publish(f"eu868/gateway/{GATEWAY}/command/down", json_format.MessageToDict(class_c))
        sent_c = radio.wait_transmissions(2, timeout_s=15)[1]
        assert sent_c.frequency == 869_525_000 and sent_c.spreading_factor == 12
        assert sent_c.payload == bytes.fromhex("60") + bytes(12)
        acks = inbox.wait(f"eu868/gateway/{GATEWAY}/event/ack", 2, timeout_s=15)
        assert acks[1]["downlinkId"] == 4343 and acks[1]["items"] == [{"status": "OK"}]
    finally:
        station.stop()
        radio.close()
        inbox.close()


def test_real_station_with_a_wrong_token_is_refused_and_counted(
    bridge_with_station: Any, tmp_path: Path
) -> None:
    app, _, broker = bridge_with_station
    uri = f"wss://localhost:{app.config.station_port}"
    home = station_home(tmp_path, uri=uri, token="wrong", radio=short_socket_path(), trust=broker.ca.ca_path)
    station = Station(home)
    try:
        deadline = time.monotonic() + 20
        while app.metrics.snapshot()["counters"].get("station_refused_unauthenticated", 0) < 1:
            assert time.monotonic() < deadline, "\n".join(station.log[-30:])
            time.sleep(0.1)
        assert not app.station.lns.sessions
    finally:
        station.stop()


def test_real_station_gets_its_lns_uri_and_token_from_cups(bridge_with_station: Any, tmp_path: Path) -> None:
    """Only CUPS is configured on the gateway (cups.uri, cups.trust, cups.key): it fetches tc.uri,
    tc.trust and tc.key from the bridge's CUPS and then connects to the LNS with them."""
    app, _, broker = bridge_with_station
    socket_path = short_socket_path()
    radio = SimulatedRadio(socket_path)
    home = station_home(tmp_path, uri="", token=TOKEN, radio=socket_path, trust=broker.ca.ca_path)
    for name in ("tc.uri", "tc.key", "tc.trust"):
        (home / name).unlink()
    (home / "cups.uri").write_text(app.config.cups_public_uri + "\n")
    (home / "cups.key").write_text(f"Authorization: Bearer {TOKEN}\r\n")
    (home / "cups.trust").write_bytes(broker.ca.ca_path.read_bytes())
    station = Station(home)
    try:
        assert radio.connected.wait(40), "\n".join(station.log[-60:])
        assert app.metrics.snapshot()["counters"]["cups_update_info"] >= 1
        assert GATEWAY in app.station.lns.sessions
    finally:
        station.stop()
        radio.close()
