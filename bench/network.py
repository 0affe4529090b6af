"""Network-server cost per uplink and per join: CPU time, DynamoDB requests, and the time from the
reception entering the function to the downlink being published, against the RX1 deadline.

    python -m bench.network [--uplinks N]

Runs the real pipeline (`functions.network.uplink`) against DynamoDB on moto server (HTTP, as the
local cloud) with the real join server, and reference devices. The de-duplication window (200 ms) is
included in the latency, as on AWS. moto server is slower than DynamoDB (about 300 conditional writes/s
on one core here; see ENVIRONMENT.md), so the request counts matter more than the milliseconds.
"""

# ruff: noqa: I001 - the environment must be set before the settings module is imported
from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import statistics
import time
from collections import Counter
from typing import Any

os.environ.setdefault("LORALESS_LOCAL_MASTER_KEY", "44" * 32)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from pynamodb.connection import base as pynamodb_base

from functions.appserver.join_server import handle_join
from functions.lorawan.device import otaa
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.network.uplink import Ports, handle_reception
from functions.shared import envelope
from functions.shared.settings import SETTINGS
from functions.shared.interface import JoinReq
from functions.appserver.models import APPLICATION_TABLES
from functions.network.models import NETWORK_TABLES
from functions.appserver.models import Device
from localcloud.dynamodb import free_port
from tests.functional.test_network_pipeline import reception

APP_KEY = AES128Key.parse("2b7e151628aed2a6abf7158809cf4f3c")
RX1_DEADLINE_S = SETTINGS.rx1_delay_s
calls: Counter[str] = Counter()


def count_dynamodb_calls() -> None:
    original = pynamodb_base.Connection._make_api_call

    def counting(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        calls[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    pynamodb_base.Connection._make_api_call = counting  # type: ignore[method-assign]


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto server in its own process, so this one's CPU time is the code under test's alone."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uplinks", type=int, default=200)
    args = parser.parse_args()
    server, url = start_moto()
    for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
        model.Meta.host = url  # type: ignore[attr-defined]
        model._connection = None
        model.create_table(wait=True)
    count_dynamodb_calls()
    published: list[float] = []
    SETTINGS.join_server_function = "join-server"
    SETTINGS.network_events_function = None

    def invoke(function: str, payload: dict[str, Any], *, wait: bool) -> dict[str, Any] | None:
        return handle_join(JoinReq.from_dict(payload)).to_dict()

    pipeline = Ports(
        count=lambda _name: None, publish=lambda _t, _m: published.append(time.perf_counter()), invoke=invoke
    )
    region = get_region("EU868")
    devices = []
    for index in range(20):
        eui = EUI64.from_int(0x0004A30B00000000 + index)
        sealed = envelope.seal({"app_key": APP_KEY.hex()}, context=str(eui))
        Device(str(eui), join_eui="70b3d57ed0000001", mac_version="1.0.3", root_keys=sealed).save()
        devices.append(otaa(eui, EUI64.parse("70b3d57ed0000001"), region, app_key=APP_KEY, seed=index))

    def measure(frames: list[tuple[Any, bytes]]) -> tuple[list[float], list[float], float]:
        latencies, cpu = [], []
        calls.clear()
        for device, frame in frames:
            published.clear()
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            status = handle_reception(reception(frame), pipeline)
            cpu.append(time.process_time() - started_cpu)
            latencies.append((published[-1] if published else time.perf_counter()) - started_wall)
            if device is not None and device.session is None:
                assert device.accept_join(base64.b64decode(pipeline_last[0]))
            assert status in ("joined", "uplink"), status
        return latencies, cpu, sum(calls.values()) / len(frames)

    pipeline_last: list[str] = []
    original_publish = pipeline.publish

    def publish(topic: str, message: dict[str, Any]) -> None:
        pipeline_last[:] = [message["items"][0]["phyPayload"]]
        original_publish(topic, message)

    pipeline.publish = publish
    join_latency, join_cpu, join_calls = measure([(d, d.join_request().phy_payload) for d in devices])
    join_ops = dict(calls)
    confirmed = [(d, d.uplink(2, b"\x01\x67\x00\xe1", confirmed=True).phy_payload) for d in devices]
    ack_latency, ack_cpu, ack_calls = measure(confirmed)
    for device in devices:  # let every device take its ACK
        device.awaiting_ack = None
    frames = [
        (None, devices[i % len(devices)].uplink(2, b"\x01\x67\x00\xe1").phy_payload)
        for i in range(args.uplinks)
    ]
    up_latency, up_cpu, up_calls = measure(frames)
    up_ops = dict(calls)
    server.terminate()
    server.wait(10)

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")

    header = f"{'case':<26}{'n':>6}{'CPU ms':>9}{'DynamoDB req':>14}{'done/downlink p50':>19}{'p99':>8}"
    print(header + f"{'RX1 budget':>12}")
    for name, n, cpu, requests, latency in (
        ("OTAA join (1.0.3)", len(devices), join_cpu, join_calls, join_latency),
        ("confirmed uplink (ACK)", len(devices), ack_cpu, ack_calls, ack_latency),
        ("unconfirmed uplink", len(frames), up_cpu, up_calls, up_latency),
    ):
        budget = 5.0 if name.startswith("OTAA") else float(RX1_DEADLINE_S)
        print(f"{name:<26}{n:>6}{statistics.mean(cpu) * 1000:>9.2f}{requests:>14.1f}"
              f"{ms(latency, 0.5):>17.0f}ms{ms(latency, 0.99):>6.0f}ms{budget:>10.0f} s")  # fmt: skip
    print(f"DynamoDB operations per join: {join_ops}")
    print(f"DynamoDB operations per {len(frames)} uplinks: {up_ops}")
    print("(includes the 200 ms de-duplication window; no peer network server runs on this machine)")


if __name__ == "__main__":
    main()
