"""What one local Lambda execution environment costs: cold start wall time and CPU, and memory (PSS).

    python -m bench.lambda_environments [--environments 4] [--handlers ...] [--stack-root CHECKOUT]

For each handler (by default the stack's busiest: the network server's uplink function, the application
server's network events and its API), `--environments` environments of one `FunctionPool` are started one
after the other and each is held busy (so the next call needs a new one), each running one invocation with
an empty event (the handler rejects it: the call is there to start the environment, not to do work). Per
environment: the first call's wall time (the cold start: the runtime starting it, init, the call; the first
environment's also waits for a template's import), a warm call's, the CPU its process used from start to
after the call (/proc/<pid>/schedstat), and its PSS; for a
runtime that forks environments from a pre-imported template process, the template's PSS and CPU too.
`--stack-root` runs another checkout's runtime (before/after comparisons).

Figures, not assertions; run it interleaved with the other checkout on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = (
    "functions.network.handlers.uplink.handler",
    "functions.appserver.handlers.network_events.handler",
    "functions.appserver.handlers.api.handler",
)
WORKER_MODULE = "localcloud.lambda_worker"


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids.extend(int(k) for k in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return kids


def _cpu_s(pid: int) -> float:
    """CPU time on the scheduler's clock (/proc/<pid>/schedstat, nanoseconds: a fork's few milliseconds
    are below the 10 ms ticks of /proc/<pid>/stat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def _pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _workers() -> tuple[list[int], list[int]]:
    """(templates, environments) among this process's descendants running the worker module: a worker
    whose children are workers too is a template."""
    templates, environments = [], []
    for pid in _children(os.getpid()):
        if WORKER_MODULE not in _cmdline(pid):
            continue
        forked = [kid for kid in _children(pid) if WORKER_MODULE in _cmdline(kid)]
        if forked:
            templates.append(pid)
            environments.extend(forked)
        else:
            environments.append(pid)
    return templates, environments


def measure(runtime: Any, handler: str, environments: int, base_env: dict[str, str]) -> None:
    function = runtime.FunctionDef(
        name=handler.split(".")[-2], handler=handler, environment={}, timeout_s=30, memory_mb=256
    )
    pool = runtime.FunctionPool(function, base_env, concurrency=environments, log_sink=lambda *_: None)
    held, cold_ms, warm_ms = [], [], []
    try:
        before = set(_workers()[1])
        for n in range(environments):
            request = {"id": f"r{n}", "event": {}, "context": _context(function, n)}
            started = time.perf_counter()
            worker = pool._acquire()  # held: the next call needs another environment
            held.append(worker)
            worker.invoke(request, function.timeout_s)
            pool._started()
            cold_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            worker.invoke({**request, "id": f"w{n}"}, function.timeout_s)
            warm_ms.append((time.perf_counter() - started) * 1000)
        templates, current = _workers()
        fresh = [pid for pid in current if pid not in before]
        cpu = [_cpu_s(pid) * 1000 for pid in fresh]
        pss = [_pss_mib(pid) for pid in fresh]
        template_pss = sum(_pss_mib(pid) for pid in templates)
        template_cpu = sum(_cpu_s(pid) for pid in templates) * 1000
        print(
            f"{handler.removeprefix('functions.')}: {len(fresh)} environments; first cold call "
            f"{cold_ms[0]:.0f} ms, the others {_spread(cold_ms[1:])} ms, warm call "
            f"{statistics.median(warm_ms):.1f} ms; CPU per environment {_spread(cpu, 1)} ms; "
            f"PSS per environment {_spread(pss, 1)} MiB, "
            f"{sum(pss):.0f} MiB in all"
            + (f"; templates: {len(templates)}, PSS {template_pss:.0f} MiB, CPU {template_cpu:.0f} ms"
               if templates else ""),
            flush=True,
        )  # fmt: skip
    finally:
        for worker in held:
            pool._release(worker)
        pool.close()


def _context(function: Any, n: int) -> dict[str, Any]:
    return {
        "function_name": function.name,
        "memory_limit_in_mb": function.memory_mb,
        "invoked_function_arn": f"arn:aws:lambda:eu-west-1:000000000000:function:{function.name}",
        "aws_request_id": f"bench-{n}",
        "deadline_ms": int(time.time() * 1000) + function.timeout_s * 1000,
    }


def _spread(values: list[float], digits: int = 0) -> str:
    return (
        f"{min(values):.{digits}f}-{max(values):.{digits}f} (median {statistics.median(values):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=4)
    parser.add_argument("--handlers", nargs="+", default=list(HANDLERS))
    parser.add_argument("--stack-root", type=Path, default=ROOT, help="another checkout (before/after)")
    args = parser.parse_args()
    root = args.stack_root.resolve()
    sys.path.insert(0, str(root))
    for name in [m for m in sys.modules if m == "localcloud" or m.startswith("localcloud.")]:
        del sys.modules[name]
    runtime = importlib.import_module("localcloud.lambda_runtime")
    runtime.FunctionDef = importlib.import_module("localcloud.template").FunctionDef
    base_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),
        "HOME": os.environ.get("HOME", str(root)),
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_FUNCTION_NAME": "local",
        "PYTHONUNBUFFERED": "1",
        **({"VIRTUAL_ENV": sys.prefix} if sys.prefix != sys.base_prefix else {}),
    }
    print(f"runtime from {root}; load average {os.getloadavg()[0]:.1f}", flush=True)
    for handler in args.handlers:
        measure(runtime, handler, args.environments, base_env)
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
