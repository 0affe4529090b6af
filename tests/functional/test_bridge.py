"""The bridge against real parts: Mosquitto with mutual TLS, real UDP sockets, simulated packet
forwarders that behave as Semtech's, and ChirpStack's protobuf classes reading what arrives."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from chirpstack_api import gw
from google.protobuf import json_format

from functions.bridge.app import BridgeApp
from functions.bridge.config import BridgeConfig
from functions.simulator.forwarder import PacketForwarder
from localcloud.broker import BRIDGE_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from tests.support.mosquitto import Inbox, start_broker

GW_A = "0016c001ff10a235"
GW_B = "0016c001ff10a236"
PHY = bytes.fromhex("40f17dbe4900020001954378762b11ff0d")


def bridge_config(broker: Mosquitto, **overrides: Any) -> BridgeConfig:
    access = broker.access_for(BRIDGE_IDENTITY)
    settings: dict[str, Any] = {
        "udp_host": "127.0.0.1", "udp_port": 0, "health_port": free_port(), "mqtt_endpoint": access.host,
        "mqtt_port": access.port, "ca_path": access.ca_path, "cert_path": access.cert_path,
        "key_path": access.key_path, "client_id": f"loraless-bridge-{os.getpid()}-{free_port()}",
        "iot_core_limits": False, "offline_after_s": 120.0,
    }  # fmt: skip
    return BridgeConfig(**(settings | overrides))


async def running(broker: Mosquitto, **overrides: Any) -> BridgeApp:
    app = BridgeApp(bridge_config(broker, **overrides))
    await app.start()
    assert await asyncio.get_running_loop().run_in_executor(None, app.mqtt.wait_connected, 10)
    return app


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def downlink_command(downlink_id: int, context: str, items: int = 2) -> dict[str, Any]:
    frame = gw.DownlinkFrame(downlink_id=downlink_id, gateway_id=GW_A)
    for index in range(items):
        item = frame.items.add()
        item.phy_payload = bytes([0x60, index]) + bytes(10)
        item.tx_info.frequency = 868_100_000 if index == 0 else 869_525_000
        item.tx_info.power = 14 if index == 0 else 27
        item.tx_info.modulation.lora.bandwidth = 125000
        item.tx_info.modulation.lora.spreading_factor = 7 if index == 0 else 12
        item.tx_info.modulation.lora.polarization_inversion = True
        item.tx_info.context = base64.b64decode(context)
        item.tx_info.timing.delay.delay.seconds = 1 + index
    return json_format.MessageToDict(frame)


async def settle(inbox: Inbox, topic: str, count: int, timeout_s: float = 10) -> list[Any]:
    return await asyncio.get_running_loop().run_in_executor(None, inbox.wait, topic, count, timeout_s)


def test_uplink_round_trip_with_connection_state_and_stats(broker: Mosquitto) -> None:
    inbox = Inbox(broker, "eu868/gateway/#")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        forwarder = await PacketForwarder(GW_A, app.udp_address).start(keepalive=False)
        acked_at = await asyncio.wait_for(forwarder.uplink(PHY, rssi=-71, snr=7.25), 5)
        assert acked_at > 0
        (frame,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/up", 1)
        message = json_format.ParseDict(frame, gw.UplinkFrame(), ignore_unknown_fields=False)
        assert message.phy_payload == PHY
        assert (message.rx_info.gateway_id, message.rx_info.rssi, message.rx_info.snr) == (GW_A, -71, 7.25)
        assert message.tx_info.frequency == 868_100_000
        (state,) = await settle(inbox, f"eu868/gateway/{GW_A}/state/conn", 1)
        assert state == {"gatewayId": GW_A, "state": "ONLINE"}
        await forwarder.stat()
        (stats,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/stats", 1)
        assert json_format.ParseDict(stats, gw.GatewayStats()).rx_packets_received == 1
        healthy = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: json.loads(urllib.request.urlopen(f"http://127.0.0.1:{app.config.health_port}/").read()),
        )
        assert healthy["mqtt_connected"] is True and healthy["counters"]["uplinks"] == 1
        await forwarder.stop()
        await app.stop()
        offline = await settle(inbox, f"eu868/gateway/{GW_A}/state/conn", 2)
        assert offline[1] == {"gatewayId": GW_A, "state": "OFFLINE"}

    try:
        run(scenario)
    finally:
        inbox.close()


def test_downlink_round_trip_and_rx2_retry_after_too_late(broker: Mosquitto) -> None:
    inbox = Inbox(broker, "eu868/gateway/+/event/+")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        errors = iter(["NONE", "TOO_LATE", "NONE"])
        forwarder = await PacketForwarder(
            GW_A, app.udp_address, tx_ack_error=lambda _txpk: next(errors)
        ).start(keepalive=False)
        await forwarder.uplink(PHY)
        (frame,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/up", 1)
        context = frame["rxInfo"]["context"]
        tmst = int.from_bytes(base64.b64decode(context), "big")
        await asyncio.sleep(0.3)  # the command subscription follows the PULL_DATA
        inbox.publish(f"eu868/gateway/{GW_A}/command/down", downlink_command(7, context))
        first = await asyncio.wait_for(forwarder.downlinks.get(), 10)
        assert (
            first.txpk["tmst"] == tmst + 1_000_000
            and first.txpk["freq"] == 868.1
            and first.txpk["ipol"] is True
        )
        (ack,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/ack", 1)
        assert ack == {"gatewayId": GW_A, "downlinkId": 7, "items": [{"status": "OK"}, {"status": "IGNORED"}]}

        inbox.publish(f"eu868/gateway/{GW_A}/command/down", downlink_command(8, context))
        rx1 = await asyncio.wait_for(forwarder.downlinks.get(), 10)
        rx2 = await asyncio.wait_for(forwarder.downlinks.get(), 10)
        assert (rx1.txpk["datr"], rx2.txpk["datr"]) == ("SF7BW125", "SF12BW125")
        assert rx2.txpk["tmst"] == tmst + 2_000_000 and rx2.txpk["freq"] == 869.525
        acks = await settle(inbox, f"eu868/gateway/{GW_A}/event/ack", 2)
        assert acks[1]["items"] == [{"status": "TOO_LATE"}, {"status": "OK"}]
        for message in acks:
            json_format.ParseDict(message, gw.DownlinkTxAck(), ignore_unknown_fields=False)
        # the next stats report carries what the bridge forwarded and sent since the last, as ChirpStack's
        # gateway side counts it (the network server draws the gateway's dashboard from it)
        await forwarder.stat()
        (stats,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/stats", 1)
        parsed = json_format.ParseDict(stats, gw.GatewayStats(), ignore_unknown_fields=False)
        assert dict(parsed.rx_packets_per_frequency) == {868_100_000: 1}
        assert dict(parsed.tx_packets_per_frequency) == {868_100_000: 2, 869_525_000: 1}
        assert dict(parsed.tx_packets_per_status) == {"OK": 2, "TOO_LATE": 1}
        (received,) = parsed.rx_packets_per_modulation
        assert (received.modulation.lora.spreading_factor, received.count) == (7, 1)
        sent = parsed.tx_packets_per_modulation
        assert sorted((m.modulation.lora.spreading_factor, m.count) for m in sent) == [(7, 2), (12, 1)]
        await forwarder.stop()
        await app.stop()

    try:
        run(scenario)
    finally:
        inbox.close()


def test_two_gateways_on_one_bridge_and_malformed_commands(broker: Mosquitto) -> None:
    inbox = Inbox(broker, "eu868/gateway/+/event/up")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        first = await PacketForwarder(GW_A, app.udp_address).start(keepalive=False)
        second = await PacketForwarder(GW_B, app.udp_address, version=1).start(keepalive=False)
        await asyncio.gather(first.uplink(PHY), second.uplink(PHY[::-1]))
        await settle(inbox, "eu868/gateway/+/event/up", 2)
        got = {json.loads(p)["rxInfo"]["gatewayId"] for _, p in inbox.matching("eu868/gateway/+/event/up")}
        assert got == {GW_A, GW_B}
        for bad in (b"not json", b"[]", b'{"items": []}', b'{"items": [{"phyPayload": "!!"}]}'):
            inbox.session.publish(f"eu868/gateway/{GW_A}/command/down", bad)
        await asyncio.sleep(0.5)
        counters = app.metrics.snapshot()["counters"]
        assert counters["drop_downlink_invalid"] == 4
        await first.uplink(PHY)  # still serving
        await settle(inbox, "eu868/gateway/+/event/up", 3)
        for forwarder in (first, second):
            await forwarder.stop()
        await app.stop()

    try:
        run(scenario)
    finally:
        inbox.close()


def test_pull_and_push_through_different_bridge_processes(broker: Mosquitto) -> None:
    """Behind a load balancer: uplinks reach bridge A, the gateway pulls from bridge B; the downlink
    must leave from B, the only process subscribed to the gateway's commands."""
    inbox = Inbox(broker, "eu868/gateway/+/event/+")

    async def scenario() -> None:
        bridge_a, bridge_b = await running(broker), await running(broker)
        assert bridge_a.udp_address is not None and bridge_b.udp_address is not None
        gateway = PacketForwarder(GW_A, bridge_a.udp_address, pull_server=bridge_b.udp_address)
        await gateway.start(keepalive=False)
        await gateway.uplink(PHY)
        (frame,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/up", 1)
        await asyncio.sleep(0.3)
        inbox.publish(
            f"eu868/gateway/{GW_A}/command/down", downlink_command(9, frame["rxInfo"]["context"], items=1)
        )
        received = await asyncio.wait_for(gateway.downlinks.get(), 10)
        assert received.txpk["freq"] == 868.1
        (ack,) = await settle(inbox, f"eu868/gateway/{GW_A}/event/ack", 1)
        assert ack["items"] == [{"status": "OK"}]
        assert gateway.downlinks.empty()  # exactly one PULL_RESP
        assert bridge_a.metrics.snapshot()["counters"].get("downlinks", 0) == 0
        assert bridge_b.metrics.snapshot()["counters"]["downlinks"] == 1
        assert bridge_a.metrics.snapshot()["counters"]["uplinks"] == 1
        for part in (gateway, bridge_a, bridge_b):
            await part.stop()

    try:
        run(scenario)
    finally:
        inbox.close()


@pytest.mark.slow
def test_broker_outage_loses_nothing(tmp_path: Path) -> None:
    # A persistent broker and a persistent observer session: what the bridge sends after the restart is
    # queued for the observer even if the bridge reconnects first.
    mosquitto = start_broker(tmp_path / "broker", persistence=True)
    inbox = Inbox(mosquitto, "eu868/gateway/+/event/up", persistent=True)
    try:

        async def scenario() -> None:
            app = await running(mosquitto)
            assert app.udp_address is not None
            forwarder = await PacketForwarder(GW_A, app.udp_address).start(keepalive=False)
            mosquitto.stop()
            for _ in range(100):
                if not app.mqtt.connected:
                    break
                await asyncio.sleep(0.05)
            acks = [forwarder.uplink(PHY + bytes([i])) for i in range(50)]
            await asyncio.wait_for(asyncio.gather(*acks), 10)  # PUSH_ACK does not wait for the broker
            assert app.metrics.snapshot()["counters"]["mqtt_buffered"] >= 50
            await asyncio.get_running_loop().run_in_executor(None, mosquitto.start)
            assert await asyncio.get_running_loop().run_in_executor(None, app.mqtt.wait_connected, 15)
            frames = await settle(inbox, "eu868/gateway/+/event/up", 50, timeout_s=30)
            payloads = sorted(base64.b64decode(f["phyPayload"])[-1] for f in frames)
            assert payloads == list(range(50))
            await forwarder.stop()
            await app.stop()

        run(scenario)
    finally:
        inbox.close()
        mosquitto.stop()


def test_random_datagrams_are_counted_and_the_bridge_keeps_serving(broker: Mosquitto) -> None:
    inbox = Inbox(broker, "eu868/gateway/+/event/up")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        rng = __import__("random").Random(3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for index in range(300):
                sock.sendto(rng.randbytes(rng.randint(0, 300)), app.udp_address)
                if index % 20 == 0:
                    await asyncio.sleep(0.01)  # the bridge shares this event loop: let it read
            header = b"\x02\x01\x00\x00" + bytes.fromhex(GW_A)
            for body in (
                b'{"rxpk":[{"data":"!!"}]}',
                b'{"rxpk":[{"freq":"x","data":"QA=="}]}',
                b'{"stat":{"rxnb":-1}}',
            ):
                sock.sendto(header + body, app.udp_address)
        await asyncio.sleep(0.5)
        counters = app.metrics.snapshot()["counters"]
        drops = sum(v for k, v in counters.items() if k.startswith("drop_"))
        assert counters["udp_datagrams_in"] == 303, counters
        assert drops == 303, counters
        forwarder = await PacketForwarder(GW_A, app.udp_address).start(keepalive=False)
        await forwarder.uplink(PHY)
        await settle(inbox, "eu868/gateway/+/event/up", 1)
        await forwarder.stop()
        await app.stop()

    try:
        run(scenario)
    finally:
        inbox.close()


def test_the_health_endpoint_listens_on_loopback_while_udp_is_open_to_the_lan(broker: Mosquitto) -> None:
    """Issue 15: the health endpoint listened on 0.0.0.0 with the UDP port; only UDP is for the LAN."""
    from functions.bridge.config import from_environment

    defaults = from_environment([])
    assert (defaults.udp_host, defaults.health_host) == ("0.0.0.0", "127.0.0.1")

    async def scenario() -> None:
        app = await running(broker, udp_host="0.0.0.0", health_host=defaults.health_host)
        try:
            assert app._health is not None
            assert {s.getsockname()[0] for s in app._health.sockets} == {"127.0.0.1"}
            assert app.udp_address is not None and app.udp_address[0] == "0.0.0.0"
        finally:
            await app.stop()

    asyncio.run(scenario())


def test_more_rxpk_than_a_concentrator_holds_and_oversized_frames_are_dropped_and_counted(
    broker: Mosquitto,
) -> None:
    """60 rxpk in one PUSH_DATA: the first 16 (a concentrator's RX FIFO) go on, 44 are counted; a
    40 KB `data` and a 256-octet frame are refused, a 255-octet one (LoRa's largest) goes on."""
    inbox = Inbox(broker, f"eu868/gateway/{GW_A}/event/up")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        forwarder = await PacketForwarder(GW_A, app.udp_address).start(keepalive=False)
        flood = [forwarder.rxpk(bytes([0x40, n]) + PHY[2:]) for n in range(60)]
        await asyncio.wait_for(forwarder.push({"rxpk": flood}), 5)
        await settle(inbox, f"eu868/gateway/{GW_A}/event/up", 16)
        largest, too_large = bytes([0x40]) + bytes(254), bytes([0x40]) + bytes(255)
        huge = forwarder.rxpk(PHY) | {"data": base64.b64encode(bytes(40_000)).decode()}
        document = {"rxpk": [huge, forwarder.rxpk(too_large), forwarder.rxpk(largest)]}
        await asyncio.wait_for(forwarder.push(document), 5)
        frames = await settle(inbox, f"eu868/gateway/{GW_A}/event/up", 17)
        assert base64.b64decode(frames[16]["phyPayload"]) == largest
        await asyncio.sleep(0.5)
        assert len(inbox.matching(f"eu868/gateway/{GW_A}/event/up")) == 17
        counters = app.metrics.snapshot()["counters"]
        assert counters["drop_rxpk_over_limit"] == 44 and counters["drop_payload_too_large"] == 2
        await forwarder.stop()
        await app.stop()

    try:
        run(scenario)
    finally:
        inbox.close()
