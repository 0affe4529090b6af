"""How long a gateway goes without downlinks when its bridge task is replaced.

`python -m bench.bridge_restart [--keepalive 10] [--trials 5]`: a real Mosquitto with mutual TLS, the
real bridge as its own process on a UDP port, a simulated Semtech packet forwarder sending PULL_DATA
every `--keepalive` seconds (Semtech's default `keepalive_interval` is 10 s) and a cloud client that
publishes a downlink command for the gateway every 100 ms. Each trial stops the bridge (SIGTERM, as
ECS does) at a random point of the keepalive cycle, starts a new one on the same port (the NLB's
address does not change for the gateway) and times until the gateway receives a downlink again.
The bridge keeps no state across the restart: the new process learns the gateway's address from its
next PULL_DATA, then subscribes to its command topic.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.bridge import start_bridge
from functions.bridge.forwarder_sim import PacketForwarder
from localcloud.broker import CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.mqtt import ServiceSession

GATEWAY = "0016c001ff10a235"


def _command(downlink_id: int) -> bytes:
    item = {
        "phyPayload": base64.b64encode(bytes([0x60]) + bytes(11)).decode(),
        "txInfo": {
            "frequency": 869525000, "power": 27, "context": base64.b64encode(bytes(4)).decode(),
            "modulation": {
                "lora": {"bandwidth": 125000, "spreadingFactor": 12, "polarizationInversion": True}
            },
            "timing": {"immediately": {}},
        },
    }  # fmt: skip
    return json.dumps({"downlinkId": downlink_id, "gatewayId": GATEWAY, "items": [item]}).encode()


async def trial(broker: Mosquitto, udp_port: int, keepalive_s: float) -> dict[str, float]:
    health = free_port()
    bridge = start_bridge(broker, udp_port, health)
    forwarder = await PacketForwarder(GATEWAY, ("127.0.0.1", udp_port), keepalive_s=keepalive_s).start()
    cloud = ServiceSession(broker.access_for(CLOUD_IDENTITY), f"bench-cloud-{udp_port}").start()
    stop_publishing = asyncio.Event()

    async def publish_commands() -> None:
        downlink_id = 0
        while not stop_publishing.is_set():
            downlink_id += 1
            cloud.publish(f"eu868/gateway/{GATEWAY}/command/down", _command(downlink_id))
            await asyncio.sleep(0.1)

    publisher = asyncio.create_task(publish_commands())
    try:
        await asyncio.wait_for(forwarder.downlinks.get(), 3 * keepalive_s)  # downlinks flow
        await asyncio.sleep(random.uniform(0, keepalive_s))  # a random point of the keepalive cycle
        stopped = time.monotonic()
        bridge.terminate()
        bridge.wait(10)
        while not forwarder.downlinks.empty():
            forwarder.downlinks.get_nowait()
        replacement = await asyncio.get_running_loop().run_in_executor(
            None, start_bridge, broker, udp_port, free_port()
        )
        healthy = time.monotonic()
        while True:  # a downlink the old bridge may still have had in flight does not count
            received = await asyncio.wait_for(forwarder.downlinks.get(), 3 * keepalive_s)
            if received is not None and time.monotonic() > healthy:
                break
        back = time.monotonic()
        replacement.terminate()
        replacement.wait(10)
        return {"to_healthy": healthy - stopped, "to_downlink": back - stopped}
    finally:
        stop_publishing.set()
        await publisher
        await forwarder.stop()
        cloud.stop()
        if bridge.poll() is None:
            bridge.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keepalive", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker", port=free_port()).start()
        try:
            results = [asyncio.run(trial(broker, free_port(), args.keepalive)) for _ in range(args.trials)]
        finally:
            broker.stop()
    for key in ("to_healthy", "to_downlink"):
        values = sorted(r[key] for r in results)
        median = statistics.median(values)
        print(f"{key}: median {median:.1f} s, min {values[0]:.1f} s, max {values[-1]:.1f} s "
              f"({args.trials} trials, keepalive {args.keepalive:g} s)")  # fmt: skip
    print("per trial:", [f"{r['to_healthy']:.1f}/{r['to_downlink']:.1f}" for r in results])


if __name__ == "__main__":
    main()
