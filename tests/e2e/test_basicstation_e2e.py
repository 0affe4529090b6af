"""A Basics Station gateway on the whole local cloud: registered and given its token through the REST
API, it connects to the bridge's LNS over TLS with the local CA, an OTAA device (the reference model)
joins through it (JoinAccept transmitted at the JoinRequest's counter + 5 s), its uplinks reach the
application, and a confirmed application downlink goes out in RX1 (uplink counter + RX1 delay) and is
acknowledged by the device's next uplink.

The gateway is Semtech's own Basics Station (`testsim` build; BASICSTATION_BINARY, skipped otherwise)
with its simulated concentrator (tests/support/station_radio.py), and, always, a client written from the
protocol documentation that splits each frame into Station's fields and checks each `dnmsg`'s timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from functions.lorawan.types import AES128Key
from functions.simulator import provisioning
from functions.simulator.provisioning import application_topic, enqueue_downlink
from functions.simulator.radio import Air, JoinFailed, join
from localcloud import station
from localcloud.broker import BRIDGE_IDENTITY, Mosquitto
from localcloud.cloud import LocalCloud
from localcloud.dynamodb import free_port
from tests.e2e.conftest import ROOT, Api, NewDevice
from tests.functional.test_basicstation_oracle import BINARY, Station, short_socket_path
from tests.support.mosquitto import Inbox
from tests.support.station_radio import SimulatedRadio, Transmission

pytestmark = pytest.mark.slow
needs_station = pytest.mark.skipif(
    not (BINARY and Path(BINARY).is_file()),
    reason="set BASICSTATION_BINARY to a Basics Station testsim build (lorabasics/basicstation)",
)
GATEWAY = "0016c001ffe2e0b5"
EU868_SF = {0: 12, 1: 11, 2: 10, 3: 9, 4: 8, 5: 7}
FAST_DR = 5  # SF7: short airtime, so the duty cycle the station enforces leaves room for RX1
_ = AES128Key


@pytest.fixture(scope="module")
def station_bridge(
    broker: Mosquitto, cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """The bridge as `make run` starts it, UDP and Basics Station side by side; yields the LNS port."""
    access = broker.access_for(BRIDGE_IDENTITY)
    udp_port, health_port = free_port(), free_port()
    assert cloud.settings.station_uris is not None
    lns_port, cups_port = (int(uri.rsplit(":", 1)[1]) for uri in cloud.settings.station_uris)
    log_path = tmp_path_factory.mktemp("station-bridge") / "bridge.log"
    command = [
        sys.executable, "-m", "functions.bridge", "--udp-host", "127.0.0.1", "--udp-port", str(udp_port),
        "--health-port", str(health_port), "--mqtt-endpoint", access.host, "--mqtt-port", str(access.port),
        "--ca", str(access.ca_path), "--cert", str(access.cert_path), "--key", str(access.key_path),
        "--client-id", f"loraless-bridge-e2e-station-{os.getpid()}-{udp_port}",
        *station.bridge_arguments(broker, "localhost", lns_port, cups_port),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env=cloud.bridge_environment())  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{health_port}/", timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.1)
            yield lns_port, udp_port
        finally:
            process.terminate()
            process.wait(10)


def register_gateway(api: Api) -> dict[str, str]:
    """Register the gateway in the tests' organization and issue its Basics Station token."""
    organization = provisioning.application_id(api.url, api.token)  # makes the organization too
    orgs = provisioning.api_call(api.url, api.token, "GET", "/organizations?search=loraless-tests")[1]
    org_id = next(o["id"] for o in orgs["items"] if o["name"] == provisioning.ORGANIZATION)
    assert organization
    body = {"gateway_id": GATEWAY, "organization_id": org_id, "name": "bs roof"}
    status, _ = provisioning.api_call(api.url, api.token, "POST", "/gateways", body)
    assert status in (201, 409)
    status, credentials = provisioning.api_call(
        api.url, api.token, "POST", f"/gateways/{GATEWAY}/station-credentials"
    )
    assert status == 201, credentials
    return dict(credentials)


@needs_station
def test_basics_station_gateway_joins_delivers_and_sends_a_confirmed_downlink_in_rx1(
    broker: Mosquitto,
    cloud: LocalCloud,
    station_bridge: tuple[int, int],
    api: Api,
    new_device: NewDevice,
    tmp_path: Path,
) -> None:
    lns_port, udp_port = station_bridge
    warm_up(api, new_device, udp_port)
    credentials = register_gateway(api)
    assert credentials["trust_pem"] == broker.ca.ca_path.read_text()
    assert credentials["lns_uri"] == f"wss://localhost:{lns_port}"
    device, created = new_device("bs-meter")
    inbox = Inbox(broker, application_topic(created, "+"))
    socket_path = short_socket_path()
    radio = SimulatedRadio(socket_path)
    conf = {
        "SX1301_conf": {"lorawan_public": True, "clksrc": 1, "device": str(socket_path),
                        "radio_0": {"type": "SX1257", "rssi_offset": -166.0, "tx_enable": True},
                        "radio_1": {"type": "SX1257", "rssi_offset": -166.0, "tx_enable": False}},
        "station_conf": {"routerid": GATEWAY, "log_file": "stderr", "log_level": "VERBOSE"},
    }  # fmt: skip
    (tmp_path / "station.conf").write_text(json.dumps(conf))
    (tmp_path / "tc.uri").write_text(credentials["lns_uri"] + "\n")
    (tmp_path / "tc.key").write_text(credentials["tc_key"])
    (tmp_path / "tc.trust").write_text(credentials["trust_pem"])
    gateway = Station(tmp_path)
    try:
        assert radio.connected.wait(30), "\n".join(gateway.log[-40:])
        gateway.wait_log("Configuring for region: EU868")
        shown = provisioning.api_call(api.url, api.token, "GET", f"/gateways/{GATEWAY}")[1]["basic_station"]
        for _ in range(50):
            if shown["version"]:
                break
            time.sleep(0.1)
            shown = provisioning.api_call(api.url, api.token, "GET", f"/gateways/{GATEWAY}")[1][
                "basic_station"
            ]
        assert shown["version"].startswith("2.0.6") and shown["model"]

        # A real gateway refuses to send what arrives after the receive windows: the local cloud's first
        # join (cold function workers) can take longer than RX2, so the device tries again, as devices do.
        for attempt in range(1, 4):
            request = replace(device.join_request(), data_rate=FAST_DR)
            heard_at = radio.receive(request.phy_payload, frequency=request.frequency,
                                     spreading_factor=EU868_SF[request.data_rate])  # fmt: skip
            try:
                (accept,) = radio.wait_transmissions(1, timeout_s=8)
                break
            except AssertionError:
                assert attempt < 3, "no JoinAccept in time; the station's log:\n" + "\n".join(
                    gateway.log[-20:]
                )
        # JOIN_ACCEPT_DELAY1 (RX1), or RX2 a second later when the answer came too late for RX1: the
        # station falls back by itself (this machine is shared; a cold join path can take over 5 s).
        windows = {
            (heard_at + 5_000_000) & 0xFFFFFFFF: request.frequency,
            (heard_at + 6_000_000) & 0xFFFFFFFF: 869_525_000,
        }
        assert windows.get(accept.count_us) == accept.frequency
        assert device.accept_join(accept.payload), "the JoinAccept did not open with the device's key"
        accepted_at = time.monotonic()
        inbox.wait(application_topic(created, "join"), 1, 20)

        uplink = replace(device.uplink(2, b"\x01\x67\x00\xe1"), data_rate=FAST_DR)
        radio.receive(
            uplink.phy_payload, frequency=uplink.frequency, spreading_factor=EU868_SF[uplink.data_rate]
        )
        (up,) = inbox.wait(application_topic(created, "up"), 1, 20)
        assert up["rxInfo"][0]["gatewayId"] == GATEWAY and up["fCnt"] == uplink.f_cnt

        enqueue_downlink(api.url, api.token, str(device.dev_eui), f_port=7, data=b"\x2a", confirmed=True)
        # The station keeps EU868's 1% duty cycle: the JoinAccept's sub-band is closed for ~100 times its
        # airtime (about 5 s at SF7), and the RX1 answer to this uplink goes out on the same sub-band.
        time.sleep(max(0.0, accepted_at + 6 - time.monotonic()))
        second = replace(device.uplink(2, b"\x01\x67\x00\xe2"), data_rate=FAST_DR)
        heard_at = radio.receive(second.phy_payload, frequency=second.frequency,
                                 spreading_factor=EU868_SF[second.data_rate])  # fmt: skip
        sent = transmissions(radio, gateway, 2)[1]
        rx1_delay = int(created.get("rx1_delay_s", 0) or 0) or _rx1_delay(api, str(device.dev_eui))
        log = "\n".join(line for line in gateway.log if "S2E" in line)[-3000:]
        assert sent.count_us == (heard_at + rx1_delay * 1_000_000) & 0xFFFFFFFF, log  # RX1
        assert sent.frequency == second.frequency and sent.spreading_factor == EU868_SF[second.data_rate]
        received = device.downlink(sent.payload)
        assert (received.f_port, received.payload, received.confirmed) == (7, b"\x2a", True)
        (txack,) = inbox.wait(application_topic(created, "txack"), 1, 20)
        assert txack["queueItemId"] and txack["gatewayId"] == GATEWAY  # sent (a refusal is a log event)
        third = replace(device.uplink(2, b"\x01\x67\x00\xe3"), data_rate=FAST_DR)  # carries the ACK
        radio.receive(
            third.phy_payload, frequency=third.frequency, spreading_factor=EU868_SF[third.data_rate]
        )
        (ack,) = inbox.wait(application_topic(created, "ack"), 1, 20)
        assert ack["acknowledged"] is True
    finally:
        gateway.stop()
        radio.close()
        inbox.close()


WARM_UP_GATEWAY = "00800000e2e0b500"


def warm_up(api: Api, new_device: NewDevice, udp_port: int) -> None:
    """A device joins and sends through a UDP gateway of the same bridge first: the local cloud's function
    workers start on first use (seconds), and a real gateway drops a downlink that misses its window.
    Best effort: only its side effect (warm workers) matters, so a slow answer here is no failure."""
    device, _ = new_device("warm-up")
    provisioning.register_gateway(api.url, api.token, WARM_UP_GATEWAY)  # unknown gateways are refused

    async def scenario() -> None:
        async with Air(("127.0.0.1", udp_port), [WARM_UP_GATEWAY]) as air:
            with contextlib.suppress(AssertionError, TimeoutError, JoinFailed):
                await join(air, device, timeout_s=30)
                for f_port in (1, 2):
                    air.transmit(device, device.uplink(f_port, b"\x00", confirmed=True))
                    await air.downlink(20)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def transmissions(radio: SimulatedRadio, gateway: Station, count: int) -> list[Transmission]:
    try:
        return radio.wait_transmissions(count, timeout_s=20)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the station's log:\n" + "\n".join(gateway.log[-30:])) from None


def _rx1_delay(api: Api, dev_eui: str) -> int:
    """The device's RX1 delay (the network's RX1_DELAY_S, given in the JoinAccept)."""
    from functions.shared.settings import SETTINGS

    return SETTINGS.rx1_delay_s


def station_fields(phy: bytes) -> dict[str, object]:
    """A frame as Station reports it (Basics Station docs, The LNS Protocol: jreq, updf): little-endian
    fields as integers, EUIs as dashed hex, options and payload as hex."""
    mic = int.from_bytes(phy[-4:], "little", signed=True)
    if phy[0] >> 5 == 0:  # JoinRequest
        return {"msgtype": "jreq", "MHdr": phy[0], "JoinEui": "-".join(f"{b:02X}" for b in phy[8:0:-1]),
                "DevEui": "-".join(f"{b:02X}" for b in phy[16:8:-1]),
                "DevNonce": int.from_bytes(phy[17:19], "little"), "MIC": mic}  # fmt: skip
    f_ctrl = phy[5]
    options_end = 8 + (f_ctrl & 0x0F)
    body = phy[options_end:-4]
    return {"msgtype": "updf", "MHdr": phy[0], "DevAddr": int.from_bytes(phy[1:5], "little", signed=True),
            "FCtrl": f_ctrl, "FCnt": int.from_bytes(phy[6:8], "little"), "FOpts": phy[8:options_end].hex(),
            "FPort": body[0] if body else -1, "FRMPayload": body[1:].hex(), "MIC": mic}  # fmt: skip


def test_a_documented_station_client_joins_delivers_and_gets_a_confirmed_downlink_in_rx1(
    broker: Mosquitto, cloud: LocalCloud, station_bridge: tuple[int, int], api: Api, new_device: NewDevice
) -> None:
    """Without Semtech's binary: the same path with a client from the protocol documentation; the
    gateway's clock is its `xtime`, so each `dnmsg` must name the uplink's xtime and the window's delay."""
    import ssl

    from websockets.asyncio.client import connect

    lns_port, udp_port = station_bridge
    warm_up(api, new_device, udp_port)
    credentials = register_gateway(api)
    device, created = new_device("doc-meter")
    inbox = Inbox(broker, application_topic(created, "+"))
    context = ssl.create_default_context(cadata=credentials["trust_pem"])
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT  # the local CA's certificates carry no AKI
    header = credentials["tc_key"].strip().split(": ", 1)

    async def scenario() -> None:
        uri = f"wss://localhost:{lns_port}/router-{GATEWAY}"
        async with connect(uri, ssl=context, additional_headers=[tuple(header)]) as gateway:
            await gateway.send(json.dumps({"msgtype": "version", "station": "doc-client", "protocol": 2}))
            assert json.loads(await gateway.recv())["msgtype"] == "router_config"
            clock = [0x10_0000_0000_0000]

            async def hear(frame: bytes, frequency: int) -> int:
                clock[0] += 7_000_000
                info = {"rctx": 0, "xtime": clock[0], "rssi": -60, "snr": 8.0}
                message = station_fields(frame) | {
                    "DR": FAST_DR,
                    "Freq": frequency,
                    "RefTime": 0.0,
                    "upinfo": info,
                }
                await gateway.send(json.dumps(message))
                return clock[0]

            async def dnmsg(timeout_s: float = 25) -> dict[str, object]:
                while True:
                    message = json.loads(await asyncio.wait_for(gateway.recv(), timeout_s))
                    if message["msgtype"] == "dnmsg":
                        await gateway.send(json.dumps({"msgtype": "dntxed", "diid": message["diid"],
                                                       "DR": message["RX1DR"], "Freq": message["RX1Freq"],
                                                       "rctx": 0, "xtime": message["xtime"]}))  # fmt: skip
                        return dict(message)

            for _attempt in range(3):  # a loaded machine may answer a join late; devices retry
                request = device.join_request()
                heard = await hear(request.phy_payload, request.frequency)
                with contextlib.suppress(TimeoutError):
                    accept = await dnmsg(20)
                    if accept["xtime"] == heard:
                        break
            assert (accept["xtime"], accept["RxDelay"], accept["RX1Freq"]) == (heard, 5, request.frequency)
            assert device.accept_join(bytes.fromhex(str(accept["pdu"])))
            await asyncio.to_thread(inbox.wait, application_topic(created, "join"), 1, 20)

            first = device.uplink(2, b"\x01")
            await hear(first.phy_payload, first.frequency)
            await asyncio.to_thread(inbox.wait, application_topic(created, "up"), 1, 20)
            enqueue_downlink(api.url, api.token, str(device.dev_eui), f_port=9, data=b"\x07", confirmed=True)
            second = device.uplink(2, b"\x02")
            heard = await hear(second.phy_payload, second.frequency)
            down = await dnmsg()
            assert (down["xtime"], down["RxDelay"], down["RX1Freq"]) == (
                heard,
                _rx1_delay(api, ""),
                second.frequency,
            )
            received = device.downlink(bytes.fromhex(str(down["pdu"])))
            assert (received.f_port, received.payload, received.confirmed) == (9, b"\x07", True)
            (txack,) = await asyncio.to_thread(inbox.wait, application_topic(created, "txack"), 1, 20)
            assert txack["queueItemId"] and txack["gatewayId"] == GATEWAY  # sent (a refusal is a log event)
            third = device.uplink(2, b"\x03")
            await hear(third.phy_payload, third.frequency)
            (ack,) = await asyncio.to_thread(inbox.wait, application_topic(created, "ack"), 1, 20)
            assert ack["acknowledged"] is True

    try:
        asyncio.run(asyncio.wait_for(scenario(), 200))
    finally:
        inbox.close()
