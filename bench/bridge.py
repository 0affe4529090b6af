"""Gateway-bridge throughput and latency on loopback: simulated packet forwarders -> bridge process
-> Mosquitto (mutual TLS) -> a subscriber, for 1, 100 and 1000 gateways.

    python -m bench.bridge [--uplinks N] [--rate R]

Each uplink carries its sequence number and send time, so the subscriber measures latency from the
UDP datagram leaving the forwarder to the MQTT message arriving, and counts what was lost. The bridge
runs in its own process (as in production); the generator and the subscriber share this one.
There is no peer bridge on the registries this machine reaches (ChirpStack's Gateway Bridge is a Go
binary), so the figures are reported against the goal: 5,000 uplinks/s per process, p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from functions.bridge.forwarder_sim import PacketForwarder
from localcloud.broker import BRIDGE_IDENTITY, CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.mqtt import ServiceSession

ROOT = Path(__file__).resolve().parent.parent


class Collector:
    def __init__(self) -> None:
        self.latencies: dict[int, float] = {}
        self.lock = threading.Lock()
        self.last_at = 0.0

    def on_message(self, _topic: str, payload: bytes, _client: str) -> None:
        now = time.monotonic()
        phy = base64.b64decode(json.loads(payload)["phyPayload"])
        seq, sent_ns = struct.unpack_from("<QQ", phy, 1)
        with self.lock:
            self.latencies[seq] = now - sent_ns / 1e9
            self.last_at = now


def start_bridge(broker: Mosquitto, udp_port: int, health_port: int) -> subprocess.Popen[bytes]:
    access = broker.access_for(BRIDGE_IDENTITY)
    command = [
        sys.executable, "-m", "functions.bridge", "--udp-host", "127.0.0.1", "--udp-port", str(udp_port),
        "--health-port", str(health_port), "--mqtt-endpoint", access.host, "--mqtt-port", str(access.port),
        "--ca", str(access.ca_path), "--cert", str(access.cert_path), "--key", str(access.key_path),
        "--no-iot-core-limits", "--rate-limit", "0", "--buffer-size", "200000",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{health_port}/", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bridge did not become healthy")


def bridge_counters(health_port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/", timeout=5) as response:
        counters: dict[str, int] = json.loads(response.read())["counters"]
        return counters


def bridge_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_case(
    udp: tuple[str, int], gateways: int, uplinks: int, rate: float, collector: Collector
) -> float:
    forwarders = [
        await PacketForwarder(f"{index:016x}", udp).start(keepalive=False) for index in range(gateways)
    ]
    await asyncio.sleep(0.5)
    interval = 1.0 / rate if rate else 0.0
    started = time.monotonic()
    for seq in range(uplinks):
        phy = b"\x40" + struct.pack("<QQ", seq, time.monotonic_ns()) + bytes(11)
        forwarders[seq % gateways].uplink(phy)
        if interval:
            delay = started + (seq + 1) * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        elif seq % 200 == 0:
            await asyncio.sleep(0)
    deadline = time.monotonic() + 30
    while len(collector.latencies) < uplinks and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for forwarder in forwarders:
        await forwarder.stop()
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uplinks", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=5000, help="uplinks/s offered (0: as fast as possible)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker", port=free_port()).start()
        udp_port, health_port = free_port(), free_port()
        bridge = start_bridge(broker, udp_port, health_port)
        print(f"offered rate {args.rate:,.0f} uplinks/s, {args.uplinks:,} uplinks per case (loopback, TLS)")
        columns = (
            "gateways",
            "delivered/s",
            "lost",
            "p50 ms",
            "p99 ms",
            "CPU s",
            "µs/uplink",
            "bridge in",
            "published",
        )
        widths = (9, 13, 6, 9, 9, 7, 10, 10, 10)
        print("".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
        try:
            for gateways in (1, 100, 1000):
                collector = Collector()
                session = ServiceSession(
                    broker.access_for(CLOUD_IDENTITY),
                    f"loraless-cloud-bench-{gateways}",
                    on_message=collector.on_message,
                )
                session.start().subscribe(["eu868/gateway/+/event/up"])
                cpu_before, before = bridge_cpu_seconds(bridge.pid), bridge_counters(health_port)
                started = asyncio.run(
                    run_case(("127.0.0.1", udp_port), gateways, args.uplinks, args.rate, collector)
                )
                cpu = bridge_cpu_seconds(bridge.pid) - cpu_before
                after = bridge_counters(health_port)
                into, out = (after.get(k, 0) - before.get(k, 0) for k in ("uplinks", "mqtt_published"))
                session.stop()
                latencies = sorted(collector.latencies.values())
                received = len(latencies)
                elapsed = collector.last_at - started if received else float("nan")
                p50 = latencies[received // 2] * 1000 if received else float("nan")
                p99 = latencies[min(received - 1, int(received * 0.99))] * 1000 if received else float("nan")
                lost = args.uplinks - received
                row = f"{gateways:>9}{received / elapsed:>13,.0f}{lost:>6}{p50:>9.2f}{p99:>9.2f}{cpu:>7.2f}"
                print(row + f"{cpu / max(received, 1) * 1e6:>10.0f}{into:>10}{out:>10}")
        finally:
            bridge.terminate()
            bridge.wait(10)
            broker.stop()


if __name__ == "__main__":
    main()
