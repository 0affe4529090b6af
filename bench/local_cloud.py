"""End-to-end load on the local cloud: N OTAA devices behind simulated gateways, through the bridge,
the IoT rules engine, the Lambda workers and DynamoDB on moto, to the application's MQTT topic.

    python -m bench.local_cloud [--devices 10 100] [--seconds 20] [--rate R]

Prints, per fleet size: uplinks offered and delivered per second, lost frames, and latency p50/p99 from
the gateway's datagram to the application's decrypted event. On this machine the figures are bounded by
moto server (~300 conditional writes/s, 4 DynamoDB requests per uplink: see `bench.network`) and by two
CPU cores shared by every process, not by the design; AWS scales each function out instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import struct
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.bridge import start_bridge
from functions.bridge.forwarder_sim import PacketForwarder
from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from localstack.broker import CLOUD_IDENTITY, Mosquitto
from localstack.cloud import CloudSettings, LocalCloud, local_admin_api_key
from localstack.dynamodb import free_port
from localstack.mqtt import ServiceSession


def app_key(index: int) -> AES128Key:
    """Each device its own AppKey: a JoinAccept then opens only for the device it was sealed for."""
    return AES128Key(index.to_bytes(16, "big"))


JOIN_EUI = EUI64.parse("70b3d57ed0000001")


class Application:
    """The application's view: joins seen, and uplink latency from the payload's send time."""

    def __init__(self) -> None:
        self.joined: set[str] = set()
        self.latencies: list[float] = []
        self.lock = threading.Lock()

    def on_message(self, topic: str, payload: bytes, _client: str) -> None:
        now = time.monotonic()
        message = json.loads(payload)
        dev_eui = topic.split("/")[3]
        with self.lock:
            if topic.endswith("/event/join"):
                self.joined.add(dev_eui)
            elif topic.endswith("/event/up") and "data" in message:
                (sent_ns,) = struct.unpack("<Q", base64.b64decode(message["data"])[:8])
                self.latencies.append(now - sent_ns / 1e9)


def provision(cloud: LocalCloud, devices: list[EndDevice]) -> None:
    assert cloud.api is not None
    key = local_admin_api_key(cloud.settings.data_dir)
    for device in devices:
        assert device.app_key is not None
        body = {
            "dev_eui": str(device.dev_eui),
            "join_eui": str(JOIN_EUI),
            "application_id": "bench",
            "app_key": device.app_key.hex(),
        }
        request = urllib.request.Request(
            f"{cloud.api.url}/devices",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=30).close()


async def run_fleet(
    udp: tuple[str, int], devices: list[EndDevice], app: Application, seconds: float, rate: float
) -> tuple[int, float]:
    gateways = [
        await PacketForwarder(f"00800000b0{i:06x}", udp).start() for i in range(max(1, len(devices) // 10))
    ]
    by_gateway = {id(d): gateways[i % len(gateways)] for i, d in enumerate(devices)}

    async def deliver_downlinks() -> None:
        while True:
            for gateway in gateways:
                while not gateway.downlinks.empty():
                    phy = base64.b64decode(gateway.downlinks.get_nowait().txpk["data"])
                    for device in devices:
                        if device.session is None and device.accept_join(phy):
                            break
            await asyncio.sleep(0.02)

    pump = asyncio.create_task(deliver_downlinks())
    deadline = time.monotonic() + 60 + len(devices) * 0.5
    while any(d.session is None for d in devices) and time.monotonic() < deadline:
        for device in devices:
            if device.session is None:
                join = device.join_request()
                by_gateway[id(device)].uplink(join.phy_payload, frequency=join.frequency)
        await asyncio.sleep(30)  # joins queue up under load: retrying sooner would race the first accept
    joined = [d for d in devices if d.session is not None]
    sent = 0
    started = time.monotonic()
    interval = 1.0 / rate
    while time.monotonic() - started < seconds:
        device = joined[sent % len(joined)]
        payload = struct.pack("<Q", time.monotonic_ns()) + bytes(4)
        uplink = device.uplink(1, payload)
        by_gateway[id(device)].uplink(uplink.phy_payload, frequency=uplink.frequency)
        sent += 1
        delay = started + sent * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    elapsed = time.monotonic() - started
    await asyncio.sleep(15)  # let the pipeline drain
    pump.cancel()
    for gateway in gateways:
        await gateway.stop()
    return sent, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=10, help="uplinks/s offered")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="Lambda workers per function (AWS: ~1000)"
    )
    args = parser.parse_args()
    columns = (
        ("devices", 8),
        ("joined", 8),
        ("offered/s", 11),
        ("delivered/s", 13),
        ("lost", 6),
        ("p50 ms", 9),
        ("p99 ms", 9),
    )
    print("".join(f"{name:>{width}}" for name, width in columns))
    region = get_region("EU868")
    for count in args.devices:
        with tempfile.TemporaryDirectory() as tmp:
            broker = Mosquitto(Path(tmp) / "broker", port=free_port()).start()
            cloud = LocalCloud(
                broker, CloudSettings(data_dir=Path(tmp), api_port=free_port(), concurrency=args.concurrency)
            ).start()
            udp = free_port()
            bridge = start_bridge(broker, udp, free_port())
            app = Application()
            session = ServiceSession(
                broker.access_for(CLOUD_IDENTITY), "bench-app", on_message=app.on_message
            )
            session.start().subscribe(["application/bench/device/+/event/+"])
            try:
                devices = [
                    otaa(
                        EUI64.from_int(0x0004A30B00100000 + i),
                        JOIN_EUI,
                        region,
                        app_key=app_key(i + 1),
                        seed=i,
                    )
                    for i in range(count)
                ]
                provision(cloud, devices)
                sent, elapsed = asyncio.run(
                    run_fleet(("127.0.0.1", udp), devices, app, args.seconds, args.rate)
                )
                latencies = sorted(app.latencies)
                received = len(latencies)
                p50 = latencies[received // 2] * 1000 if received else float("nan")
                p99 = latencies[min(received - 1, int(received * 0.99))] * 1000 if received else float("nan")
                print(
                    f"{count:>8}{len(app.joined):>8}{sent / elapsed:>11.1f}{received / elapsed:>13.1f}"
                    f"{sent - received:>6}{p50:>9.0f}{p99:>9.0f}",
                    flush=True,
                )
            finally:
                session.stop()
                bridge.terminate()
                bridge.wait(10)
                cloud.stop()
                broker.stop()


if __name__ == "__main__":
    main()
