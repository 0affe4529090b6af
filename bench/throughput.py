"""Throughput of the local stack as `make run` starts it, under a load of its own: N ABP devices on G
gateways (Semtech UDP) offering a fixed rate for `--seconds`, then drained, at each of `--rates`.

    python -m bench.throughput [--devices 200] [--gateways 20] [--rates 10 20 30 50] [--seconds 30]

The stack is `python -m localcloud.run` in a process session of its own (Mosquitto with TLS, the bridge,
the embedded DynamoDB with its journal, the rules engine, the Lambda runtime, the API), over a fresh data
directory; devices and gateways are provisioned through its REST API. The load is the radio side of
`bench.local_cloud` (its `Radio`, in a child process), with ABP devices so nothing joins. Per rate:
offered and delivered per second, lost, duplicated, p50/p99 from the gateway's datagram to the
application's decrypted `event/up`, and CPU per delivered uplink split by process (read from
/proc/<pid>/stat of every process of the stack before and after the phase). Before the load and after the
last rate: idle CPU (cores, over `--idle` seconds) and memory (RSS and PSS summed over the stack's
processes: RSS counts pages the workers share once per process, PSS splits them).

Figures, not assertions; on a shared machine CPU per uplink is steadier than wall-clock latency.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.local_cloud import FleetResult, FleetSpec, fleet_process, make_abp_device, ms, quantile, receive
from functions.simulator import provisioning
from localcloud.broker import CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
F_CNT_STEP = 1000  # each rate's devices start this many frames after the previous rate's


# -- the stack's processes ------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc/<pid>/task/*/children)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(kids)
            pending.extend(kids)
    return found


def role(pid: int, root: int) -> str | None:
    """What a process of the stack is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return None
    if pid == root:
        return "cloud process"
    if "localcloud.lambda_worker" in argv:
        handler = argv[argv.index("localcloud.lambda_worker") + 1]
        return "Lambda " + handler.removeprefix("functions.").removesuffix(".handler").replace(
            ".handlers.", "."
        )
    if "functions.bridge" in argv:
        return "bridge"
    if argv and argv[0].endswith("mosquitto"):
        return "Mosquitto"
    if "localcloud.store" in argv:
        return "store"
    return "other: " + " ".join(argv)[:60]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


STORE = "store (the cloud process's dynamodb threads)"


def store_threads_cpu(pid: int) -> float:
    """CPU seconds of the threads the local DynamoDB server names `dynamodb*` (localcloud/dynamodb_server.py);
    0 for a stack whose store threads have no such names."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "comm").read_text().startswith("dynamodb"):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def stack_cpu(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process of the stack, by pid, with its role; the cloud process's store
    threads apart (under the key -root)."""
    seen: dict[int, tuple[str, float]] = {}
    for pid in [root, *children(root)]:
        name = role(pid, root)
        if name is None:
            continue
        try:
            seen[pid] = (name, cpu_seconds(pid))
        except (FileNotFoundError, ProcessLookupError):
            continue
    if root in seen:
        store = store_threads_cpu(root)
        if store:
            seen[-root] = (STORE, store)
            seen[root] = (
                "cloud process, other threads (rules engine, Lambda runtime, APIs)",
                seen[root][1] - store,
            )
        else:  # a store whose threads are not named: counted with the rest
            seen[root] = ("cloud process (store, rules engine, Lambda runtime, APIs)", seen[root][1])
    return seen


def cpu_between(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds per role between two readings (a process started in between counts from zero; one that
    ended in between is lost, and workers are not killed by the runtime while it is healthy)."""
    spent: dict[str, float] = defaultdict(float)
    for pid, (name, seconds) in after.items():
        spent[name] += seconds - before.get(pid, (name, 0.0))[1]
    return dict(spent)


@dataclass(order=True)
class Memory:
    """RSS and PSS (MiB) summed over the stack's processes, and PSS per role."""

    rss: float = 0.0
    pss: float = 0.0
    processes: int = 0
    by_role: dict[str, float] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        ordered = sorted(self.by_role.items(), key=lambda kv: -kv[1])
        roles = ", ".join(f"{name} {mib:.0f}" for name, mib in ordered)
        return f"{self.rss:.0f} MiB RSS, {self.pss:.0f} MiB PSS in {self.processes} processes (PSS: {roles})"


def stack_memory(root: int) -> Memory:
    memory = Memory()
    by_role: dict[str, float] = defaultdict(float)
    for pid in [root, *children(root)]:
        name = role(pid, root)
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if name is None:
            continue
        memory.processes += 1
        for line in rollup.splitlines():
            key, _, value = line.partition(":")
            if key == "Rss":
                memory.rss += int(value.split()[0]) / 1024
            elif key == "Pss":
                memory.pss += int(value.split()[0]) / 1024
                by_role[name.split(" (")[0]] += int(value.split()[0]) / 1024
    memory.by_role = dict(by_role)
    return memory


# -- the stack ------------------------------------------------------------------------------------


@dataclass
class Stack:
    data_dir: Path
    root: Path = ROOT  # another checkout's stack, for before/after comparisons
    extra_args: tuple[str, ...] = ()  # more `localcloud.run` options (say `--concurrency 16`)
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.ports = {name: free_port() for name in ("udp", "mqtt", "api", "health", "station", "cups")}
        log = (self.data_dir / "stack.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localcloud.run", "--data-dir", str(self.data_dir),
             "--udp-host", "127.0.0.1", "--udp-port", str(self.ports["udp"]),
             "--mqtt-port", str(self.ports["mqtt"]), "--api-port", str(self.ports["api"]),
             "--health-port", str(self.ports["health"]), "--station-port", str(self.ports["station"]),
             "--cups-port", str(self.ports["cups"]), *self.extra_args],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(self.root)},
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while b"Ctrl-C stops everything." not in (self.data_dir / "stack.log").read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the stack did not start:\n" + (self.data_dir / "stack.log").read_text()[-3000:]
                )
            time.sleep(0.5)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}/v1"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def gateway_ids(count: int) -> list[str]:
    return [f"00800000b0{g:06x}" for g in range(count)]  # as bench.local_cloud's Air names them


def provision(stack: Stack, devices: int, gateways: int) -> None:
    """ABP devices (keys as make_abp_device derives them) and the gateways, through the REST API."""
    url, token = stack.api_url, provisioning.admin_token(stack.data_dir)

    def one(index: int) -> None:
        device = make_abp_device(index)
        session = device.session
        assert session is not None
        provisioning.provision_device(
            url, token, dev_eui=str(device.dev_eui), join_eui="0000000000000000", app_key=bytes(16).hex(),
            name=f"throughput-{index}", application="throughput",
        )  # fmt: skip
        provisioning.api_call(
            url, token, "POST", f"/devices/{device.dev_eui}/activate",
            {"dev_addr": str(session.dev_addr), "app_s_key": session.app_s_key.hex(),
             "nwk_s_key": session.f_nwk_s_int_key.hex()},
        )  # fmt: skip

    one(0)  # the organization, application and profile, once
    for gateway in gateway_ids(gateways):
        provisioning.register_gateway(url, token, gateway)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(1, devices)))


# -- one rate ---------------------------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    fleet: FleetResult
    cpu: dict[str, float]
    load: tuple[float, float, float]


def run_rate(stack: Stack, args: argparse.Namespace, rate: float, f_cnt: int) -> Step:
    access = Mosquitto(stack.data_dir / "broker", port=stack.ports["mqtt"]).access_for(CLOUD_IDENTITY)
    spec = FleetSpec(
        ("127.0.0.1", stack.ports["udp"]), access, args.devices, args.gateways, 1, args.devices / rate,
        args.seconds, args.warmup, args.confirmed_every, 1.0, abp_f_cnt=f_cnt,
    )  # fmt: skip
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    child = context.Process(target=fleet_process, args=(spec, there), daemon=True)
    child.start()
    receive(here, child)  # warmed up
    before = stack_cpu(stack.pid)
    here.send("go")
    fleet = receive(here, child)
    after = stack_cpu(stack.pid)
    child.join(30)
    return Step(rate, fleet, cpu_between(before, after), os.getloadavg())


def idle(stack: Stack, seconds: float) -> tuple[float, dict[str, float]]:
    """Cores used by the stack while nothing is sent, and by which process."""
    before = stack_cpu(stack.pid)
    started = time.monotonic()
    time.sleep(seconds)
    spent = cpu_between(before, stack_cpu(stack.pid))
    elapsed = time.monotonic() - started
    return sum(spent.values()) / elapsed, {k: v / elapsed for k, v in spent.items()}


def settle(stack: Stack, limit_s: float = 300) -> float:
    """Wait until the stack uses under 0.05 cores over 5 s (a backlog drained); returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if idle(stack, 5)[0] < 0.05:
            break
    return time.monotonic() - started


def report_idle(when: str, stack: Stack, seconds: float) -> None:
    waited = settle(stack)
    cores, by = idle(stack, seconds)
    spent = ", ".join(f"{name.split(' (')[0]} {used:.3f}" for name, used in sorted(by.items()) if used)
    print(f"idle {when} ({seconds:.0f} s, after {waited:.0f} s to settle): {cores:.3f} cores ({spent}); "
          f"memory {stack_memory(stack.pid)}", flush=True)  # fmt: skip


def report_step(step: Step) -> None:
    f = step.fleet
    delivered_rate = f.delivered / max(f.drained_s, f.phase_s, 1e-9)
    p50, p99 = ms(quantile(f.up_latency, 0.5)), ms(quantile(f.up_latency, 0.99))
    print(
        f"{step.rate:>5.0f}/s: offered {f.sent / max(f.phase_s, 1e-9):.1f}/s, "
        f"delivered {delivered_rate:.1f}/s, "
        f"lost {f.sent - f.delivered} of {f.sent}, duplicated {f.duplicates}, uplink -> event p50 {p50} ms "
        f"p99 {p99} ms (load average {step.load[0]:.1f})",
        flush=True,
    )
    uplinks = max(1, f.delivered)
    total = sum(step.cpu.values())
    print(f"    CPU per uplink, whole stack {total / uplinks * 1000:6.1f} ms")
    for name, seconds in sorted(step.cpu.items(), key=lambda kv: -kv[1]):
        if seconds:
            print(f"      {name:<58} {seconds / uplinks * 1000:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 20, 30, 50])
    parser.add_argument("--seconds", type=float, default=30, help="length of each measured phase")
    parser.add_argument("--warmup", type=float, default=10, help="unmeasured uplinks before each phase")
    parser.add_argument(
        "--confirmed-every", type=int, default=0, help="every n-th uplink confirmed (0: none)"
    )
    parser.add_argument(
        "--idle", type=float, default=30, help="seconds of idle CPU measured before and after"
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="run every rate even after one loses frames"
    )
    parser.add_argument("--stack-root", type=Path, default=ROOT, help="another checkout (before/after)")
    parser.add_argument(
        "--stack-args", default="", help="more `localcloud.run` options, quoted: '--concurrency 16'"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp) / "data", args.stack_root.resolve(), tuple(args.stack_args.split()))
        stack.data_dir.mkdir()
        try:
            started = time.monotonic()
            stack.start()
            print(f"stack started in {time.monotonic() - started:.1f} s; provisioning "
                  f"{args.devices} ABP devices on {args.gateways} gateways", flush=True)  # fmt: skip
            provision(stack, args.devices, args.gateways)
            time.sleep(5)
            report_idle("after start", stack, args.idle)
            best = 0.0
            for number, rate in enumerate(args.rates, start=1):
                step = run_rate(stack, args, rate, number * F_CNT_STEP)
                report_step(step)
                print(f"    memory at the end of the phase: {stack_memory(stack.pid)}", flush=True)
                lost = step.fleet.sent - step.fleet.delivered
                delivered_rate = step.fleet.delivered / max(step.fleet.drained_s, step.fleet.phase_s, 1e-9)
                if lost == 0 and delivered_rate >= 0.95 * rate:
                    best = max(best, rate)
                elif not args.keep_going:  # a backlog would spill into the next rate
                    break
            report_idle("after the load", stack, args.idle)
            verdict = f"{best:.0f}/s" if best else "none of the rates"
            print(f"sustained (0 lost, delivered at 95 % of the offered rate or more): {verdict}", flush=True)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
