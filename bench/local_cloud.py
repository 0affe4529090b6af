"""End-to-end load on the local cloud: N gateways x M OTAA devices, through the bridge, the IoT rules
engine, the Lambda workers and DynamoDB on moto, to the application's MQTT topic and back down to the
gateways.

    python -m bench.local_cloud [--devices 10 100 300] [--interval 10 | --rate R] [--heard-by 1]

Per fleet size, every device sends an uplink every `--interval` seconds (so the offered rate grows with
the fleet), every `--confirmed-every`-th uplink confirmed. Printed: uplinks offered and delivered per
second, lost and duplicated frames, latency p50/p99 from the gateway's datagram to the application's
decrypted event, from a confirmed uplink's datagram to its downlink (PULL_RESP) reaching the gateway
against the RX1 deadline the devices were given, and from a JoinRequest to its JoinAccept. Then, per
uplink: Lambda invocations, mean duration and CPU per function, MQTT messages and rules by kind, DynamoDB
requests by operation and the item sizes behind them: the inputs of the cost model in bench/README.md.

The devices and gateways run in a child process and the cloud (moto, the rules engine, the Lambda pools)
in this one, so the generator does not steal the cloud's interpreter. On this machine (2 cores) the
figures are bounded by moto server (~190-300 conditional writes/s, see ENVIRONMENT.md) and by the CPU
every process shares, not by the design: AWS runs each function in as many environments as it needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import multiprocessing
import os
import resource
import struct
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.bridge import bridge_cpu_seconds, start_bridge
from bench.item_size import item_size
from functions.lorawan.device import EndDevice, EndDeviceSession, abp, otaa
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.simulator import provisioning
from functions.simulator.radio import Air, Transmission
from localcloud import lambda_runtime
from localcloud.broker import CLOUD_IDENTITY, Mosquitto
from localcloud.cloud import CloudSettings, LocalCloud
from localcloud.dynamodb import free_port
from localcloud.mqtt import BrokerAccess, ServiceSession

JOIN_EUI = EUI64.parse("70b3d57ed0000001")
DEV_EUI_BASE = 0x0004A30B00100000


def app_key(index: int) -> AES128Key:
    """Each device its own AppKey: a JoinAccept then opens only for the device it was sealed for."""
    return AES128Key(index.to_bytes(16, "big"))


def make_device(index: int) -> EndDevice:
    return otaa(
        EUI64.from_int(DEV_EUI_BASE + index),
        JOIN_EUI,
        get_region("EU868"),
        app_key=app_key(index + 1),
        seed=index,
    )


def make_abp_device(index: int, f_cnt_up: int = 0) -> EndDevice:
    """An ABP device with keys of its own (from `app_key(index + 1)`), sending from FCnt `f_cnt_up`."""
    keys = session_keys_1_0(app_key(index + 1), index, NetID.parse("000000"), index)
    session = EndDeviceSession.from_1_0(DevAddr.from_int(0x26100000 + index), keys)
    session.f_cnt_up = f_cnt_up
    return abp(EUI64.from_int(DEV_EUI_BASE + index), get_region("EU868"), session, seed=index)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# -- the radio side (child process) --------------------------------------------------------------


@dataclass
class FleetSpec:
    udp: tuple[str, int]
    access: BrokerAccess
    devices: int
    gateways: int
    heard_by: int
    interval_s: float
    seconds: float
    warmup_s: float
    confirmed_every: int
    join_rate: float
    abp_f_cnt: int | None = None  # ABP devices sending from this FCnt (none join); None: OTAA devices


@dataclass
class FleetResult:
    joined: int = 0
    join_attempts: int = 0
    join_latency: list[float] = field(default_factory=list)
    late_join_accepts: int = 0
    sent: int = 0
    confirmed: int = 0
    delivered: int = 0
    duplicates: int = 0
    up_latency: list[float] = field(default_factory=list)
    downlink_latency: list[float] = field(default_factory=list)
    acks: int = 0
    mac_downlinks: int = 0
    rx1_delay_s: int = 0
    phase_s: float = 0.0
    drained_s: float = 0.0
    messages: Counter[str] = field(default_factory=Counter)


def topic_kind(topic: str) -> str:
    parts = topic.split("/")
    if parts[0] == "application":
        return f"application {'/'.join(parts[4:])}"
    if len(parts) > 2 and parts[1] == "gateway":
        return f"gateway {'/'.join(parts[3:])}"
    return "other"


class Radio:
    """The forwarders and devices on the simulator's air (functions/simulator/radio.py), which ties every
    PULL_RESP to the frame it answers by its timestamp (uplink tmst + RX1 delay or JOIN_ACCEPT_DELAY1),
    the way a concentrator would schedule it."""

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.devices = [
            make_device(i) if spec.abp_f_cnt is None else make_abp_device(i, spec.abp_f_cnt)
            for i in range(spec.devices)
        ]
        self.index = {str(d.dev_eui): i for i, d in enumerate(self.devices)}
        self.air = Air(spec.udp, [gateway_id(g) for g in range(spec.gateways)])
        self.kinds: dict[tuple[str, float], str] = {}  # (dev_eui, sent_at) -> join, up, confirmed, warm-up
        self.latest_join: dict[int, Transmission] = {}
        self.result = FleetResult()
        self.received: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        self.counting = False
        self.last_delivery = 0.0
        self.sent_at: dict[tuple[str, int], float] = {}

    def on_message(self, topic: str, payload: bytes, _client: str) -> None:
        now = time.monotonic()
        with self.lock:
            if self.counting:
                self.result.messages[topic_kind(topic)] += 1
            if not (topic.startswith("application/") and topic.endswith("/event/up")):
                return
            message = json.loads(payload)
            key = (message["deviceInfo"]["devEui"], int(message["fCnt"]))
            if key in self.received:
                self.result.duplicates += 1
                return
            self.received[key] = now
            self.last_delivery = now
            sent_at = self.sent_at.get(key)
            if sent_at is not None:
                self.result.up_latency.append(now - sent_at)

    def transmit(self, index: int, frame: Any, kind: str) -> None:
        gateway_ids = self.air.gateway_ids
        heard_by = [gateway_ids[(index + k) % len(gateway_ids)] for k in range(self.spec.heard_by)]
        snr = {gateway_id: 9.5 - 3 * k for k, gateway_id in enumerate(heard_by)}
        sent = self.air.transmit(self.devices[index], frame, gateways=heard_by, snr=snr, join=kind == "join")
        self.kinds[(sent.dev_eui, sent.sent_at)] = kind
        if kind == "join":
            self.latest_join[index] = sent

    async def pump(self) -> None:
        while True:
            heard = await self.air.downlink(None)
            origin = heard.answers
            if origin is None:
                continue
            kind = self.kinds.get((origin.dev_eui, origin.sent_at), "")
            index = self.index[origin.dev_eui]
            device = self.devices[index]
            latency = heard.at - origin.sent_at
            if origin.join:
                # the device listens only in the two join-accept windows after its latest JoinRequest
                if origin is not self.latest_join.get(index) or not origin.listening(device, heard.at):
                    self.result.late_join_accepts += 1
                elif device.session is None and device.accept_join(heard.phy_payload):
                    self.result.join_latency.append(latency)
                    self.result.rx1_delay_s = device.rx1_delay
                continue
            if kind == "confirmed":
                self.result.downlink_latency.append(latency)
            if not origin.listening(device, heard.at):  # after RX2: the device is no longer listening
                continue
            try:
                downlink = device.downlink(heard.phy_payload)
            except LoRaWANError:
                continue
            if kind == "confirmed":
                self.result.acks += downlink.ack
            else:
                self.result.mac_downlinks += 1

    async def run(self, conn: Connection) -> FleetResult:
        spec = self.spec
        async with self.air:
            pump = asyncio.create_task(self.pump())
            session = ServiceSession(
                spec.access, f"loraless-cloud-bench-fleet-{os.getpid()}", on_message=self.on_message
            )
            session.start().subscribe(["#"])
            await asyncio.sleep(1.0)
            await self.join_all()
            await self.warm_up()
            conn.send(("joined", self.result.joined))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # the cloud took its snapshot
            await self.uplinks()
            pump.cancel()
            session.stop()
        return self.result

    async def join_all(self) -> None:
        """Joins paced at `join_rate`; a device that got no JoinAccept retries after both windows."""
        last_try: dict[int, float] = {}
        deadline = time.monotonic() + 60 + 3 * self.spec.devices / self.spec.join_rate
        while time.monotonic() < deadline:
            waiting = [i for i, d in enumerate(self.devices) if d.session is None]
            if not waiting:
                break
            now = time.monotonic()
            due = [i for i in waiting if now - last_try.get(i, -100.0) > 8.0]
            for index in due:
                last_try[index] = time.monotonic()
                self.transmit(index, self.devices[index].join_request(), "join")
                self.result.join_attempts += 1
                await asyncio.sleep(1.0 / self.spec.join_rate)
            if not due:
                await asyncio.sleep(0.2)
        self.result.joined = sum(d.session is not None for d in self.devices)

    async def warm_up(self) -> None:
        """Uplinks at the phase's rate for `warmup_s`, not measured: the functions' workers start (cold
        starts are a Lambda cost of their own, not the steady state this measures)."""
        await self.send(self.spec.warmup_s, measured=False)
        await asyncio.sleep(3)

    async def uplinks(self) -> None:
        """The measured phase, then waiting until every frame arrived or nothing came for 15 s."""
        with self.lock:
            self.counting = True
        started = time.monotonic()
        await self.send(self.spec.seconds, measured=True)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 15 and time.monotonic() - started < self.spec.seconds + 180:
            await asyncio.sleep(0.5)
            if self.delivered() >= self.result.sent:
                await asyncio.sleep(4)  # late downlinks and duplicates
                break
            with self.lock:  # any application event, an earlier run's backlog too, means not drained yet
                quiet_since = max(quiet_since, self.last_delivery)
        with self.lock:
            self.counting = False
            self.result.drained_s = self.last_delivery - started
        self.result.delivered = self.delivered()

    def delivered(self) -> int:
        with self.lock:
            return sum(key in self.received for key in self.sent_at)

    async def send(self, seconds: float, *, measured: bool) -> None:
        """Every joined device in turn, evenly spaced so each sends every `interval_s`."""
        spec = self.spec
        joined = [i for i, d in enumerate(self.devices) if d.session is not None]
        if not joined:
            return
        spacing = spec.interval_s / len(joined)
        started = time.monotonic()
        for n in range(int(seconds / spacing)):
            index = joined[n % len(joined)]
            device = self.devices[index]
            confirmed = spec.confirmed_every > 0 and n % spec.confirmed_every == spec.confirmed_every - 1
            payload = struct.pack("<Q", time.monotonic_ns()) + bytes(4)
            frame = device.uplink(1, payload, confirmed=confirmed)
            if measured:
                with self.lock:
                    self.sent_at[(str(device.dev_eui), frame.f_cnt)] = time.monotonic()
                self.result.sent += 1
                self.result.confirmed += confirmed
            self.transmit(index, frame, ("confirmed" if confirmed else "up") if measured else "warm-up")
            delay = started + (n + 1) * spacing - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if measured:
            self.result.phase_s = time.monotonic() - started


def fleet_process(spec: FleetSpec, conn: Connection) -> None:
    radio = Radio(spec)
    result = asyncio.run(radio.run(conn))
    conn.send(("done", result))


# -- the cloud side (this process) ----------------------------------------------------------------


class Meter:
    """Lambda invocation durations (in the worker, not waiting for a slot), DynamoDB requests by operation
    and table (at moto's dispatcher), rules started, and CPU of the workers, the bridge and this process."""

    def __init__(self, cloud: LocalCloud, bridge_pid: int) -> None:
        self.cloud = cloud
        self.bridge_pid = bridge_pid
        self.lock = threading.Lock()
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.requests: Counter[tuple[str, str]] = Counter()
        self.cold_starts: Counter[str] = Counter()
        self.warm: set[int] = set()
        self.recording = False
        self._patch_workers()
        self._patch_moto()

    def _patch_workers(self) -> None:
        original = lambda_runtime._Worker.invoke
        meter = self

        def timed(worker: Any, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                return original(worker, request, timeout_s)
            finally:
                cold = id(worker) not in meter.warm  # its first request waits for the handler's imports
                meter.warm.add(id(worker))
                if meter.recording:
                    with meter.lock:
                        handler = str(worker.handler)
                        if cold:
                            meter.cold_starts[handler] += 1
                        else:
                            meter.durations[handler].append(time.perf_counter() - started)

        lambda_runtime._Worker.invoke = timed  # type: ignore[method-assign,assignment]

    def _patch_moto(self) -> None:
        """Counts each request the local cloud's DynamoDB dispatcher answers (every function's)."""
        from localcloud.dynamodb_server import Dispatcher

        original = Dispatcher.__call__
        meter = self

        def counting(dispatcher: Dispatcher, operation: str, body: bytes) -> tuple[int, bytes]:
            if meter.recording:
                try:
                    table = json.loads(body or b"{}").get("TableName", "?")
                except (TypeError, ValueError):
                    table = "?"
                with meter.lock:
                    meter.requests[(operation, table)] += 1
            return original(dispatcher, operation, body)

        Dispatcher.__call__ = counting  # type: ignore[method-assign, assignment]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: per function (all its workers), the bridge, this process (moto, rules...)."""
        seconds: dict[str, float] = defaultdict(float)
        assert self.cloud.lambdas is not None
        for pool in self.cloud.lambdas.pools.values():
            for worker in list(pool._all):
                if worker.pid is None:  # not forked yet
                    continue
                try:
                    seconds[pool.function.handler] += bridge_cpu_seconds(worker.pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
        seconds["bridge"] = bridge_cpu_seconds(self.bridge_pid)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        seconds["cloud process (moto, rules, APIs)"] = usage.ru_utime + usage.ru_stime
        return dict(seconds)

    def rules(self) -> Counter[str]:
        assert self.cloud.rules is not None
        return Counter(self.cloud.rules.counts)

    def item_sizes(self) -> dict[str, float]:
        """Mean DynamoDB item size per table in bytes (attribute names + values, as DynamoDB counts)."""
        assert self.cloud.dynamodb is not None
        client = self.cloud.dynamodb.client
        sizes: dict[str, float] = {}
        for table in client.list_tables()["TableNames"]:
            items = client.scan(TableName=table, Limit=200).get("Items", [])
            if items:
                sizes[table] = sum(item_size(i) for i in items) / len(items)
        return sizes


def short(handler: str) -> str:
    return handler.removeprefix("functions.").removesuffix(".handler").replace(".handlers.", ".")


@dataclass
class Case:
    devices: int
    gateways: int
    fleet: FleetResult
    cpu: dict[str, float]
    invocations: dict[str, tuple[int, int, list[float]]]  # handler -> (count, cold, warm durations)
    requests: Counter[tuple[str, str]]
    rules: Counter[str]
    sizes: dict[str, float]
    memory_mb: dict[str, int]


def run_case(args: argparse.Namespace, devices: int) -> Case:
    gateways = args.gateways or max(1, devices // 10)
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker", port=free_port()).start()
        cloud = LocalCloud(
            broker, CloudSettings(data_dir=Path(tmp), api_port=free_port(), concurrency=args.concurrency)
        ).start()
        function_log = open(args.function_log, "a")  # noqa: SIM115 - closed in the finally below
        quiet_logs(cloud, function_log)
        udp = free_port()
        bridge = start_bridge(broker, udp, free_port())
        try:
            assert cloud.api is not None and cloud.template is not None
            api_url, token = cloud.api.url, provisioning.admin_token(cloud.settings.data_dir)
            provision(api_url, token, 0)  # the organization, application and profile, once
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: provision(api_url, token, i), range(1, devices)))
                # registered, as the network refuses frames of gateways nobody registered (as ChirpStack)
                list(pool.map(lambda g: provisioning.register_gateway(api_url, token, gateway_id(g)),
                              range(gateways)))  # fmt: skip
            meter = Meter(cloud, bridge.pid)
            prewarm(cloud, args.prewarm)
            spec = FleetSpec(
                ("127.0.0.1", udp), broker.access_for(CLOUD_IDENTITY), devices, gateways, args.heard_by,
                args.interval, args.seconds, args.warmup, args.confirmed_every, args.join_rate,
            )  # fmt: skip
            context = multiprocessing.get_context("spawn")
            here, there = context.Pipe()
            child = context.Process(target=fleet_process, args=(spec, there), daemon=True)
            child.start()
            receive(here, child)  # joined and warmed up
            cpu_before, rules_before = meter.cpu(), meter.rules()
            meter.recording = True
            here.send("go")
            fleet = receive(here, child)
            meter.recording = False
            cpu_after, rules_after = meter.cpu(), meter.rules()
            child.join(30)
            sizes = meter.item_sizes()
            memory = {f.handler: f.memory_mb for f in cloud.template.functions.values()}
            invocations = {
                h: (len(meter.durations[h]) + meter.cold_starts[h], meter.cold_starts[h], meter.durations[h])
                for h in set(meter.durations) | set(meter.cold_starts)
            }
            return Case(
                devices, gateways, fleet,
                {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after},
                invocations, meter.requests, rules_after - rules_before, sizes, memory,
            )  # fmt: skip
        finally:
            bridge.terminate()
            bridge.wait(10)
            cloud.stop()
            broker.stop()
            function_log.close()


def receive(conn: Connection, child: Any) -> Any:
    """The child's next message; fails instead of waiting forever when the child died."""
    while not conn.poll(1.0):
        if not child.is_alive():
            raise RuntimeError(f"the fleet process exited ({child.exitcode}); its traceback is above")
    return conn.recv()[1]


def quiet_logs(cloud: LocalCloud, sink: Any) -> None:
    """The functions' log lines go to a file, not between the figures (workers start lazily)."""
    lock = threading.Lock()

    def write(name: str, line: str) -> None:
        with lock:
            sink.write(f"[{name}] {line}\n")

    assert cloud.lambdas is not None
    for pool in cloud.lambdas.pools.values():
        pool.log_sink = write


def prewarm(cloud: LocalCloud, workers: int) -> None:
    """Start `workers` environments per function (Lambda's provisioned concurrency), each with an event
    its handler rejects, so the measured phases see warm functions rather than this machine's cold starts
    (several seconds each on two shared cores; 0.4-0.8 s on AWS)."""
    assert cloud.lambdas is not None
    with ThreadPoolExecutor(workers) as pool:
        for function in cloud.lambdas.pools.values():
            list(pool.map(function.invoke, [{}] * workers))


def gateway_id(index: int) -> str:
    return f"00800000b0{index:06x}"


def provision(api_url: str, token: str, index: int) -> None:
    device = make_device(index)
    assert device.app_key is not None
    provisioning.provision_device(
        api_url, token, dev_eui=str(device.dev_eui), join_eui=str(JOIN_EUI), app_key=device.app_key.hex(),
        name=f"bench-{index}", application="bench",
    )  # fmt: skip


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def report(cases: list[Case]) -> None:
    columns = (("devices", 8), ("gw", 5), ("joined", 8), ("offered/s", 10), ("delivered/s", 12),
               ("lost", 6), ("dup", 5), ("up p50", 8), ("p99", 7), ("down p50", 9), ("p99", 7),
               (">RX1", 6), ("join p50", 9), ("p99", 7))  # fmt: skip
    print("".join(f"{name:>{width}}" for name, width in columns))
    for case in cases:
        f = case.fleet
        values = (
            case.devices, case.gateways, f"{f.joined}", f"{f.sent / f.phase_s:.1f}",
            f"{f.delivered / max(f.drained_s, f.phase_s):.1f}", f.sent - f.delivered, f.duplicates,
            ms(quantile(f.up_latency, 0.5)), ms(quantile(f.up_latency, 0.99)),
            ms(quantile(f.downlink_latency, 0.5)), ms(quantile(f.downlink_latency, 0.99)),
            sum(x > f.rx1_delay_s for x in f.downlink_latency) + f.confirmed - len(f.downlink_latency),
            ms(quantile(f.join_latency, 0.5)), ms(quantile(f.join_latency, 0.99)),
        )  # fmt: skip
        print("".join(f"{v!s:>{w}}" for v, (_, w) in zip(values, columns, strict=True)), flush=True)
    rx1 = cases[0].fleet.rx1_delay_s
    print(f"(latencies in ms; RX1 opens {rx1} s after the uplink: '>RX1' counts confirmed uplinks whose "
          "downlink reached the gateway later, or never)")  # fmt: skip
    for case in cases:
        uplinks = max(1, case.fleet.delivered)
        f = case.fleet
        print(f"\n-- per uplink at {case.devices} devices ({uplinks} uplinks, {f.confirmed} confirmed, "
              f"{f.mac_downlinks} MAC-only downlinks; {f.join_attempts} JoinRequests for {f.joined} joins, "
              f"{f.late_join_accepts} JoinAccepts after the windows) --")  # fmt: skip
        for handler, (count, cold, warm) in sorted(case.invocations.items()):
            cpu = case.cpu.get(handler, 0.0) / max(count, 1) * 1000
            mean = sum(warm) / len(warm) if warm else float("nan")
            p50, p99 = ms(quantile(warm, 0.5)), ms(quantile(warm, 0.99))
            print(f"  Lambda {short(handler):<26}{count / uplinks:5.2f} calls ({cold} cold)  warm: "
                  f"{ms(mean):>5} ms mean {p50:>5} p50 {p99:>5} p99  "
                  f"{cpu:5.1f} ms CPU/call  {case.memory_mb.get(handler, 0)} MB")  # fmt: skip
        for name in ("bridge", "cloud process (moto, rules, APIs)"):
            print(f"  CPU {name:<36} {case.cpu.get(name, 0.0) / uplinks * 1000:6.1f} ms")
        for kind, count in sorted(case.fleet.messages.items()):
            print(f"  MQTT {kind:<35} {count / uplinks:5.2f}")
        for rule, count in sorted(case.rules.items()):
            print(f"  rule {rule:<35} {count / uplinks:5.2f}")
        for (operation, table), count in sorted(case.requests.items()):
            size = case.sizes.get(table)
            note = f"  (items ~{size:.0f} B)" if size else ""
            print(f"  DynamoDB {operation:<14} {table:<28} {count / uplinks:5.2f}{note}")


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[10, 100, 300])
    parser.add_argument("--gateways", type=int, default=0, help="default: one per 10 devices")
    parser.add_argument("--heard-by", type=int, default=1, help="gateways hearing each frame")
    parser.add_argument("--interval", type=float, default=10, help="seconds between a device's uplinks")
    parser.add_argument(
        "--rate", type=float, default=0, help="uplinks/s offered in total (sets the interval per fleet size)"
    )
    parser.add_argument("--seconds", type=float, default=30, help="length of the uplink phase")
    parser.add_argument("--warmup", type=float, default=10, help="unmeasured uplinks first (seconds)")
    parser.add_argument("--confirmed-every", type=int, default=10, help="every n-th uplink confirmed")
    parser.add_argument("--join-rate", type=float, default=4, help="JoinRequests/s while joining")
    parser.add_argument("--prewarm", type=int, default=4, help="warm environments per function at start")
    parser.add_argument("--function-log", default=os.devnull, help="where the functions' log lines go")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="Lambda workers per function (AWS: ~1000)"
    )
    args = parser.parse_args()
    cases = []
    for devices in args.devices:
        if args.rate:
            args.interval = devices / args.rate
        cases.append(run_case(args, devices))
        print(f"[{devices} devices done]", flush=True)
    report(cases)


if __name__ == "__main__":
    main()
