"""Basics Station throughput, latency and connections on loopback: N gateways hold WebSocket sessions to
one bridge process and send `updf` uplinks; a subscriber on Mosquitto (mutual TLS) measures the time
from the message leaving the gateway to the gw.UplinkFrame arriving, and counts what was lost.

    python -m bench.station [--uplinks N] [--rate R] [--gateways 1,100,1000]

Beside `bench.bridge` (Semtech UDP). The bridge runs in its own process as in production, with plain
`ws://` (on AWS the load balancer terminates TLS); its gateway table is moto's DynamoDB, read once per
connection. Bounded: a fixed number of uplinks per case, then everything stops.
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

from websockets.asyncio.client import ClientConnection, connect

from bench.bridge import bridge_counters, bridge_cpu_seconds
from localcloud.broker import BRIDGE_IDENTITY, CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.mqtt import ServiceSession

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"


class Collector:
    def __init__(self) -> None:
        self.latencies: dict[int, float] = {}
        self.lock = threading.Lock()
        self.last_at = 0.0

    def on_message(self, _topic: str, payload: bytes, _client: str) -> None:
        now = time.monotonic()
        phy = base64.b64decode(json.loads(payload)["phyPayload"])
        seq, sent_ns = struct.unpack_from("<QQ", phy, 9)  # after MHDR, FHDR (7) and FPort
        with self.lock:
            self.latencies[seq] = now - sent_ns / 1e9
            self.last_at = now


def gateway_id(index: int) -> str:
    return f"b5{index:014x}"


def register(dynamodb_url: str, count: int) -> None:
    """The gateways, registered with a token, straight into the table the bridge reads."""
    from functions.shared.station_credentials import StationCredentials, token_hash

    StationCredentials.Meta.host = dynamodb_url  # type: ignore[attr-defined]
    StationCredentials._connection = None
    if not StationCredentials.exists():
        StationCredentials.create_table(wait=True)
    with StationCredentials.batch_write() as batch:
        for index in range(count):
            batch.save(StationCredentials(gateway_id(index), org_id="bench", token_sha256=token_hash(TOKEN),
                                          token_sealed=b"-", issued_at=0))  # fmt: skip


def start_bridge(
    broker: Mosquitto, dynamodb_url: str, lns_port: int, health_port: int
) -> subprocess.Popen[bytes]:
    access = broker.access_for(BRIDGE_IDENTITY)
    command = [
        sys.executable, "-m", "functions.bridge", "--udp-host", "127.0.0.1", "--udp-port", str(free_port()),
        "--health-port", str(health_port), "--mqtt-endpoint", access.host, "--mqtt-port", str(access.port),
        "--ca", str(access.ca_path), "--cert", str(access.cert_path), "--key", str(access.key_path),
        "--no-iot-core-limits", "--rate-limit", "0", "--buffer-size", "200000",
        "--station-port", str(lns_port),
    ]  # fmt: skip
    env = os.environ | {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url, "AWS_ACCESS_KEY_ID": "local",
                        "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "eu-west-1"}  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{health_port}/", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bridge did not become healthy")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def updf(seq: int) -> str:
    payload = struct.pack("<QQ", seq, time.monotonic_ns()) + bytes(4)
    return json.dumps({
        "msgtype": "updf", "MHdr": 0x40, "DevAddr": 0x01020304, "FCtrl": 0, "FCnt": seq & 0xFFFF, "FOpts": "",
        "FPort": 1, "FRMPayload": payload.hex(), "MIC": 0, "RefTime": 0.0, "DR": 5, "Freq": 868_100_000,
        "upinfo": {"rctx": 0, "xtime": 0x1000000000000 + seq, "gpstime": 0, "rssi": -60, "snr": 7.5},
    })  # fmt: skip


async def open_sessions(port: int, count: int) -> list[ClientConnection]:
    async def one(index: int) -> ClientConnection:
        connection = await connect(f"ws://127.0.0.1:{port}/router-{gateway_id(index)}",
                                   additional_headers={"Authorization": f"Bearer {TOKEN}"},
                                   open_timeout=60, ping_interval=None)  # fmt: skip
        await connection.send(json.dumps({"msgtype": "version", "station": "bench", "protocol": 2}))
        await connection.recv()  # router_config
        return connection

    sessions: list[ClientConnection] = []
    for start in range(0, count, 100):  # connect in batches, as a fleet coming back online would
        sessions += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 100))))
    return sessions


async def run_case(port: int, gateways: int, uplinks: int, rate: float, collector: Collector,
                   held: list[float]) -> float:  # fmt: skip
    connect_started = time.monotonic()
    sessions = await open_sessions(port, gateways)
    held.append(time.monotonic() - connect_started)
    await asyncio.sleep(0.5)
    interval = 1.0 / rate if rate else 0.0
    started = time.monotonic()
    for seq in range(uplinks):
        await sessions[seq % gateways].send(updf(seq))
        if interval:
            delay = started + (seq + 1) * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    deadline = time.monotonic() + 30
    while len(collector.latencies) < uplinks and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    held.append(time.monotonic())
    await asyncio.gather(*(s.close() for s in sessions))
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uplinks", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=5000, help="uplinks/s offered (0: as fast as possible)")
    parser.add_argument("--gateways", default="1,100,1000")
    args = parser.parse_args()
    cases = [int(n) for n in args.gateways.split(",")]
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    dynamodb_url = f"http://127.0.0.1:{moto_port}"
    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    register(dynamodb_url, max(cases))
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker", port=free_port()).start()
        lns_port, health_port = free_port(), free_port()
        bridge = start_bridge(broker, dynamodb_url, lns_port, health_port)
        print(f"offered rate {args.rate:,.0f} uplinks/s, {args.uplinks:,} uplinks per case (ws -> MQTT TLS)")
        columns = ("gateways", "connect s", "CPU s", "held", "RSS MiB", "delivered/s", "lost", "p50 ms",
                   "p99 ms", "CPU s", "µs/uplink")  # fmt: skip
        widths = (9, 10, 8, 6, 9, 13, 6, 9, 9, 7, 10)
        print("".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
        try:
            for gateways in cases:
                collector = Collector()
                session = ServiceSession(
                    broker.access_for(CLOUD_IDENTITY), f"bench-{gateways}", on_message=collector.on_message
                )
                session.start().subscribe(["eu868/gateway/+/event/up"])
                cpu_before = bridge_cpu_seconds(bridge.pid)
                held: list[float] = []

                cpu_connected: list[float] = []

                async def case(
                    gateways: int = gateways, collector: Collector = collector, held: list[float] = held,
                    cpu_connected: list[float] = cpu_connected,
                ) -> tuple[float, int, float]:  # fmt: skip
                    task = asyncio.create_task(
                        run_case(lns_port, gateways, args.uplinks, args.rate, collector, held)
                    )
                    while len(held) < 1:
                        await asyncio.sleep(0.05)
                    connected = bridge_counters_full(health_port).get("station_gateways", 0)
                    memory = rss_mib(bridge.pid)
                    cpu_connected.append(bridge_cpu_seconds(bridge.pid))
                    return await task, connected, memory

                started, connected, memory = asyncio.run(case())
                connect_cpu = cpu_connected[0] - cpu_before
                cpu = bridge_cpu_seconds(bridge.pid) - cpu_connected[0]
                session.stop()
                latencies = sorted(collector.latencies.values())
                received = len(latencies)
                elapsed = collector.last_at - started if received else float("nan")
                p50 = latencies[received // 2] * 1000 if received else float("nan")
                p99 = latencies[min(received - 1, int(received * 0.99))] * 1000 if received else float("nan")
                row = (f"{gateways:>9}{held[0]:>10.2f}{connect_cpu:>8.2f}{connected:>6}{memory:>9.1f}"
                       f"{received / elapsed:>13,.0f}"
                       f"{args.uplinks - received:>6}{p50:>9.2f}{p99:>9.2f}{cpu:>7.2f}"
                       f"{cpu / max(received, 1) * 1e6:>10.0f}")  # fmt: skip
                print(row, flush=True)
            print(
                "bridge counters:", {k: v for k, v in bridge_counters(health_port).items() if "station" in k}
            )
        finally:
            bridge.terminate()
            bridge.wait(10)
            broker.stop()
            moto.stop()


def bridge_counters_full(health_port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/", timeout=5) as response:
        status: dict[str, int] = json.loads(response.read())
        return status


if __name__ == "__main__":
    main()
