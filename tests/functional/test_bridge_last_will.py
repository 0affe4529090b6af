"""A bridge process that dies without a clean disconnect: the broker publishes its last will, the
network server's gateway-events function marks the gateways that bridge served offline and publishes
their retained OFFLINE state, as a per-gateway will would in ChirpStack."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from functions.bridge.forwarder_sim import PacketForwarder
from functions.network.gateways import bridge_state, gateway_event
from functions.network.models import Gateway
from localcloud.broker import BRIDGE_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from tests.support.mosquitto import Inbox

ROOT = Path(__file__).resolve().parents[2]
GATEWAYS = ["00000000dead0001", "00000000dead0002"]  # not used by other tests: retained states differ
BRIDGE_TOPIC = "eu868/bridge/loraless-bridge-doomed/state/conn"


def test_a_killed_bridge_leaves_a_will_and_its_gateways_go_offline(broker: Mosquitto, dynamodb: str) -> None:
    import asyncio

    inbox = Inbox(broker, BRIDGE_TOPIC, "eu868/gateway/+/state/conn")
    access = broker.access_for(BRIDGE_IDENTITY)
    udp, health = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "functions.bridge",
        "--udp-host",
        "127.0.0.1",
        "--udp-port",
        str(udp),
        "--health-port",
        str(health),
        "--mqtt-endpoint",
        access.host,
        "--mqtt-port",
        str(access.port),
        "--ca",
        str(access.ca_path),
        "--cert",
        str(access.cert_path),
        "--key",
        str(access.key_path),
        "--client-id",
        "loraless-bridge-doomed",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not [p for _, p in inbox.matching(BRIDGE_TOPIC) if b'"ONLINE"' in p]:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)

        async def two_gateways() -> None:
            for gateway_id in GATEWAYS:
                forwarder = await PacketForwarder(gateway_id, ("127.0.0.1", udp)).start(keepalive=False)
                await asyncio.wait_for(forwarder.uplink(b"\x40" + bytes(12)), 5)
                await forwarder.stop()

        asyncio.run(two_gateways())
        for gateway_id in GATEWAYS:
            (state,) = inbox.wait(f"eu868/gateway/{gateway_id}/state/conn", 1)
            assert state == {"gatewayId": gateway_id, "state": "ONLINE"}
        announced: dict[str, Any] = {}
        while set(announced.get("gatewayIds", [])) != set(GATEWAYS):
            assert time.monotonic() < deadline, inbox.matching(BRIDGE_TOPIC)
            announced = json.loads(inbox.matching(BRIDGE_TOPIC)[-1][1])
            time.sleep(0.05)
        # The network server learns which gateways this bridge serves (rule on bridge/+/state/conn).
        bridge_state(announced | {"topic_prefix": "eu868"})
        for gateway_id in GATEWAYS:
            gateway_event({"gatewayId": gateway_id, "state": "ONLINE", "topic_prefix": "eu868"})
        process.send_signal(signal.SIGKILL)  # no clean disconnect: the broker sends the will
        process.wait(10)
        (will,) = [json.loads(p) for _, p in inbox.matching("eu868/bridge/+/state/conn") if b"OFFLINE" in p][
            :1
        ] or [
            inbox.wait("eu868/bridge/+/state/conn", len(inbox.matching("eu868/bridge/+/state/conn")) + 1)[-1]
        ]
        assert will == {"bridgeId": "loraless-bridge-doomed", "state": "OFFLINE", "gatewayIds": []}
        published: list[tuple[str, dict[str, Any]]] = []
        result = bridge_state(will | {"topic_prefix": "eu868"},
                              lambda topic, message, retain: published.append((topic, message)))  # fmt: skip
        assert sorted(result["revoked"]) == GATEWAYS
        assert all(not Gateway.get(g).online for g in GATEWAYS)
        assert sorted(t for t, _ in published) == [f"eu868/gateway/{g}/state/conn" for g in GATEWAYS]
        assert all(m["state"] == "OFFLINE" for _, m in published)
    finally:
        if process.poll() is None:
            process.kill()
        inbox.close()


@pytest.mark.parametrize("event", [{"gatewayId": "short"}, {}])
def test_gateway_events_without_a_gateway_id_are_dropped(dynamodb: str, event: dict[str, Any]) -> None:
    assert gateway_event(event) == {"stored": False}
