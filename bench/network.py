"""Network-server and application-server cost per join and per uplink: CPU time of each function, the
DynamoDB requests and log bytes of each, and the time from the reception entering the uplink function
to the downlink being published, against the RX1 deadline; with `--profile`, where the CPU goes. Cases:
join, confirmed uplink (its ACK), unconfirmed uplink (queue empty: known so after the device's first
uplink, issue 16), uplink with a downlink queued just before it (and what that enqueue costs).

    python -m bench.network [--uplinks N] [--gateways G] [--profile]

Runs the real Lambda handlers (`functions.network.handlers.uplink`, then
`functions.appserver.handlers.network_events` on every event the uplink function sent), Powertools
logging and metrics included, against the local cloud's DynamoDB server (HTTP) in its own process; Lambda
`Invoke` and IoT `Publish` go through boto3 to a stand-in in another process (`bench.other_functions`,
where the join server answers), so every AWS request is built, signed, sent and parsed as on AWS, and
only the measured functions' CPU is counted here. The de-duplication window (200 ms) is included in the
latency, as on AWS. The local store is slower than DynamoDB (about 1 ms of CPU per request on this
machine), so the request counts and CPU matter more than the milliseconds.
"""

# ruff: noqa: I001 - the environment must be set before the settings module is imported
from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("LORALESS_LOCAL_MASTER_KEY", "44" * 32)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Loraless")

from pynamodb.connection import base as pynamodb_base

from functions.appserver import queue
from functions.appserver.handlers import network_events
from functions.appserver.models import APPLICATION_TABLES, Application, Device, DeviceProfile
from functions.lorawan.device import otaa
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.network.handlers import uplink
from functions.network.models import NETWORK_TABLES, Gateway
from functions.shared import aws, envelope
from functions.shared.settings import SETTINGS
from localcloud.dynamodb import free_port
from bench.receptions import uplink_event

APP_KEY = AES128Key.parse("2b7e151628aed2a6abf7158809cf4f3c")
RX1_DEADLINE_S = SETTINGS.rx1_delay_s
GATEWAYS = [f"0016c001ff10a2{i:02x}" for i in range(8)]
calls: Counter[str] = Counter()
# The groups of the CPU breakdown (`--profile`): self time of each function, by the file it is in.
GROUPS = (
    ("botocore: requests (build, sign, send, parse)", ("/botocore/", "/boto3/", "/s3transfer/")),
    (
        "urllib3 / http.client / socket",
        ("/urllib3/", "/http/client.py", "/socket.py", "/ssl.py", "/selectors.py", "/email/"),
    ),
    ("PynamoDB (models, serialization)", ("/pynamodb/",)),
    ("Powertools (logger, metrics, tracer)", ("/aws_lambda_powertools/",)),
    ("json", ("/json/",)),
    ("logging", ("/logging/",)),
    ("cryptography / envelope", ("/cryptography/", "functions/shared/envelope.py")),
    ("codecs (JavaScript, Cayenne LPP)", ("functions/appserver/codecs", "/quickjs", "/dukpy")),
    ("protocol core (functions/lorawan)", ("functions/lorawan/",)),
    ("network server (functions/network)", ("functions/network/",)),
    ("application server (functions/appserver)", ("functions/appserver/",)),
    ("shared (functions/shared)", ("functions/shared/",)),
    (
        "dataclasses / uuid / datetime / re / hashlib",
        ("/dataclasses.py", "/uuid.py", "/datetime.py", "/re/", "/hashlib.py", "/base64.py"),
    ),
)


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:000000000000:function:{self.function_name}"


@dataclass
class Cost:
    """What one function spent on a case: CPU seconds per call, DynamoDB requests, log bytes."""

    cpu: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    log_bytes: int = 0
    calls: int = 0


def count_dynamodb_calls() -> None:
    original = pynamodb_base.Connection._make_api_call

    def counting(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        calls[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    pynamodb_base.Connection._make_api_call = counting  # type: ignore[method-assign]


def start(module: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """A server in its own process, so this one's CPU time is the code under test's alone."""
    port = free_port()
    server = subprocess.Popen([sys.executable, *module, str(port)], env={**os.environ, **(env or {})},
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


def start_store() -> tuple[subprocess.Popen[bytes], str]:
    """The local cloud's DynamoDB server (moto's backend behind our HTTP server). moto's own server
    costs the client more CPU per request than DynamoDB would (about 0.6 ms more per GetItem here,
    measured the same way), which this bench's figures included until 2026-12-04."""
    process, url = start(["-m", "localcloud.dynamodb_server"])
    return process, url


class LogSink:
    """The process's stdout (where Powertools writes log lines and metrics) into a file, whose growth is
    the bytes CloudWatch Logs would ingest; the bench's own output goes to the real stdout."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self.real = os.fdopen(os.dup(1), "w", buffering=1)
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - open for the whole run
        os.dup2(self.file.fileno(), 1)

    def size(self) -> int:
        sys.stdout.flush()
        return os.fstat(self.file.fileno()).st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uplinks", type=int, default=200)
    parser.add_argument("--gateways", type=int, default=1, help="gateways hearing each uplink")
    parser.add_argument("--profile", action="store_true", help="where the CPU of an uplink goes")
    args = parser.parse_args()
    store, url = start_store()
    others, others_url = start(["-m", "bench.other_functions"], {"AWS_ENDPOINT_URL_DYNAMODB": url})
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = others_url
    SETTINGS.iot_data_endpoint = others_url
    SETTINGS.join_server_function = "JoinServer"
    SETTINGS.network_events_function = "NetworkEvents"
    SETTINGS.webhook_function = None
    for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
        model.Meta.host = url  # type: ignore[attr-defined]
        model._connection = None
        model.create_table(wait=True)
    count_dynamodb_calls()
    gateways = GATEWAYS[: args.gateways]
    for gateway_id in gateways:
        Gateway(gateway_id, org_id="bench").save()
    Application("bench-app", org_id="bench", name="bench").save()
    DeviceProfile("bench-profile", org_id="bench", name="sensor", codec_kind="cayenne_lpp").save()
    region = get_region("EU868")
    devices = []
    for index in range(20):
        eui = EUI64.from_int(0x0004A30B00000000 + index)
        sealed = envelope.seal({"app_key": APP_KEY.hex()}, context=str(eui))
        Device(str(eui), join_eui="70b3d57ed0000001", mac_version="1.0.3", root_keys=sealed,
               application_id="bench-app", device_profile_id="bench-profile", org_id="bench",
               name=f"sensor-{index}").save()  # fmt: skip
        devices.append(otaa(eui, EUI64.parse("70b3d57ed0000001"), region, app_key=APP_KEY, seed=index))

    published: list[tuple[float, str, bytes]] = []
    client = aws.iot_data()
    publish = client.publish

    def timed_publish(**kwargs: Any) -> Any:
        published.append((time.perf_counter(), kwargs["topic"], kwargs["payload"]))
        return publish(**kwargs)

    client.publish = timed_publish
    sink = LogSink()
    out = sink.real
    uplink_context, events_context = LambdaContext("Uplink"), LambdaContext("NetworkEvents", 512)

    def fetch_events() -> list[dict[str, Any]]:
        with urllib.request.urlopen(others_url + "/events") as answer:
            return [e["payload"] for e in json.load(answer)["events"]]

    def run(
        fn: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], context: Any, cost: Cost,
        profiler: cProfile.Profile | None,
    ) -> Any:  # fmt: skip
        calls.clear()
        logged = sink.size()
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        answer = fn(event, context)
        if profiler is not None:
            profiler.disable()
        cost.cpu.append(time.process_time() - started)
        cost.requests.update(calls)
        cost.log_bytes += sink.size() - logged
        cost.calls += 1
        return answer

    def heard(frame: bytes, cost: Cost, profiler: cProfile.Profile | None) -> list[str]:
        """Every gateway's copy, at once as IoT Core runs them, each its own invocation."""
        statuses: list[str] = []
        lock = threading.Lock()

        def one(gateway_id: str) -> None:
            event = uplink_event(frame, gateway_id=gateway_id, snr=7.0 - gateways.index(gateway_id))
            own = Cost()
            status = run(
                uplink.handler, event, uplink_context, own, profiler if gateway_id == gateways[0] else None
            )
            with lock:
                statuses.append(status["status"])
                cost.cpu += own.cpu
                cost.requests.update(own.requests)
                cost.log_bytes += own.log_bytes
                cost.calls += 1

        if len(gateways) == 1:
            one(gateways[0])
        else:
            threads = [threading.Thread(target=one, args=(g,)) for g in gateways]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return statuses

    def measure(
        frames: list[tuple[Any, bytes]],
        profilers: tuple[cProfile.Profile, cProfile.Profile] | None = None,
        before: Callable[[Any], None] | None = None,
    ) -> tuple[Cost, Cost, list[float]]:
        """The uplink function for every gateway's copy, then the events function for what it sent;
        `before` runs first for each frame's device, unmeasured here (the application's enqueue)."""
        up, events, latencies = Cost(), Cost(), []
        for device, frame in frames:
            if before is not None:
                before(device)
            published.clear()
            started = time.perf_counter()
            statuses = heard(frame, up, profilers[0] if profilers else None)
            downlinks = [p for p in published if "/command/down" in p[1]]
            latencies.append((downlinks[0][0] if downlinks else time.perf_counter()) - started)
            assert sorted(statuses)[-1] in ("joined", "uplink"), statuses
            if device is not None and device.session is None:
                phy_payload = json.loads(downlinks[0][2])["items"][0]["phyPayload"]
                assert device.accept_join(base64.b64decode(phy_payload))
            for payload in fetch_events():
                run(
                    network_events.handler,
                    payload,
                    events_context,
                    events,
                    profilers[1] if profilers else None,
                )
        return up, events, latencies

    join_up, join_events, join_latency = measure([(d, d.join_request().phy_payload) for d in devices])
    confirmed = [(d, d.uplink(2, b"\x01\x67\x00\xe1", confirmed=True).phy_payload) for d in devices]
    ack_up, ack_events, ack_latency = measure(confirmed)
    for device in devices:  # let every device take its ACK
        device.awaiting_ack = None
    frames = [
        (None, devices[i % len(devices)].uplink(2, b"\x01\x67\x00\xe1").phy_payload)
        for i in range(args.uplinks)
    ]
    profilers = (
        (cProfile.Profile(time.thread_time), cProfile.Profile(time.thread_time)) if args.profile else None
    )
    up_up, up_events, up_latency = measure(frames, profilers)
    # A downlink queued for each device before its uplink (as REST or MQTT would): the uplink queries the
    # queue, carries the payload and marks it sent; the enqueue's own requests are counted apart.
    enqueue_cost = Cost()

    def enqueue_for(device: Any) -> None:
        calls.clear()
        queue.enqueue(str(device.dev_eui), 3, b"\x01\x02")
        enqueue_cost.requests.update(calls)
        enqueue_cost.calls += 1

    with_item = [(d, d.uplink(2, b"\x01\x67\x00\xe1").phy_payload) for d in devices]
    queued_up, queued_events, queued_latency = measure(with_item, before=enqueue_for)
    sent = [item.f_cnt is not None for d in devices for item in queue.pending(str(d.dev_eui))]
    assert sent == [True] * len(devices), "each queued downlink went with its device's uplink"
    others.terminate()
    store.terminate()
    others.wait(10)
    store.wait(10)

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")

    out.write(f"each frame heard by {len(gateways)} gateway(s); per frame (all copies), local store\n")
    out.write(f"{'case':<24}{'n':>5}{'function':>16}{'calls':>7}{'CPU ms':>8}{'DynamoDB':>10}"
              f"{'log B':>7}{'downlink p50':>14}{'p99':>7}{'RX1':>5}\n")  # fmt: skip
    for name, latency, pair in (
        ("OTAA join (1.0.3)", join_latency, (join_up, join_events)),
        ("confirmed uplink (ACK)", ack_latency, (ack_up, ack_events)),
        ("unconfirmed uplink", up_latency, (up_up, up_events)),
        ("uplink, queued downlink", queued_latency, (queued_up, queued_events)),
    ):
        budget = 5.0 if name.startswith("OTAA") else float(RX1_DEADLINE_S)
        n = len(latency)
        for index, (function, cost) in enumerate((("uplink", pair[0]), ("network_events", pair[1]))):
            head = f"{name:<24}{n:>5}" if index == 0 else " " * 29
            tail = (
                f"{ms(latency, 0.5):>12.0f}ms{ms(latency, 0.99):>5.0f}ms{budget:>4.0f}s" if index == 0 else ""
            )
            cpu_ms, requests = sum(cost.cpu) / n * 1000, sum(cost.requests.values()) / n
            out.write(f"{head}{function:>16}{cost.calls / n:>7.2f}{cpu_ms:>8.2f}{requests:>10.2f}"
                      f"{cost.log_bytes / n:>7.0f}{tail}\n")  # fmt: skip
        total_cpu = (sum(pair[0].cpu) + sum(pair[1].cpu)) / n * 1000
        out.write(f"{'':<29}{'both':>16}{'':>7}{total_cpu:>8.2f}\n")
    for name, cost, n in (
        ("join, uplink function", join_up, len(join_latency)),
        ("join, events function", join_events, len(join_latency)),
        ("uplink, uplink function", up_up, len(up_latency)),
        ("uplink, events function", up_events, len(up_latency)),
        ("uplink with a queued downlink, uplink function", queued_up, len(queued_latency)),
        ("enqueue (REST or MQTT, before it)", enqueue_cost, enqueue_cost.calls),
    ):
        per = {op: round(count / n, 2) for op, count in sorted(cost.requests.items())}
        out.write(f"DynamoDB requests per {name}: {per}\n")
    out.write("(includes the 200 ms de-duplication window; no peer network server runs on this machine)\n")
    if profilers:
        for title, profiler in (
            ("uplink function (first gateway's copy), unconfirmed uplinks", profilers[0]),
            ("network_events function, unconfirmed uplinks", profilers[1]),
        ):
            breakdown(out, title, profiler, len(up_latency))


def breakdown(out: Any, title: str, profiler: cProfile.Profile, n: int) -> None:
    """Self time by library (GROUPS), then the largest cumulative entries, per uplink. The profiler
    itself slows Python code down: the shares matter, not the absolute figures."""
    profiler.create_stats()
    if not profiler.stats:  # type: ignore[attr-defined]
        out.write(f"\nCPU breakdown, {title}: not called\n")
        return
    stats = pstats.Stats(profiler)
    by_group: Counter[str] = Counter()
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        group = next(
            (g for g, parts in GROUPS if any(p in filename for p in parts)), "other (stdlib, builtins)"
        )
        by_group[group] += tottime
    out.write(f"\nCPU breakdown, {title} (profiled; self time per uplink):\n")
    for group, seconds in by_group.most_common():
        out.write(f"  {group:<48}{seconds / n * 1000:>7.2f} ms {seconds / total * 100:>5.1f} %\n")
    requests = sum(
        cumtime
        for (filename, _line, name), (_cc, _nc, _tt, cumtime, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        if name == "_make_api_call" and filename.endswith("botocore/client.py")
    )
    out.write(f"  all AWS requests, inclusive (botocore's _make_api_call): {requests / n * 1000:.2f} ms, "
              f"{requests / total * 100:.1f} % of the function\n")  # fmt: skip
    out.write("  largest inclusive entries:\n")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])  # type: ignore[attr-defined]
    shown = 0
    for (filename, line, name), (_cc, nc, _tt, cumtime, _callers) in rows:
        short = "/".join(filename.split("/")[-2:])
        if short.startswith(("~", "<")) or name in ("<module>",):
            continue
        out.write(f"    {cumtime / n * 1000:>7.2f} ms {nc / n:>6.1f}x  {short}:{line}({name})\n")
        shown += 1
        if shown == 40:
            break


if __name__ == "__main__":
    main()
