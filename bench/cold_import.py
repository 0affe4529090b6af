"""Cold import of every Lambda handler against its own bundle, without and with compiled bytecode.

`python -m bench.cold_import [--runs 5]` builds the shared code bundle and the dependency layer as
infra/bundling.py does (the layer for this machine's platform, from the same lock: the arm64 one cannot
load here), once as before (sources only) and once as now (unchecked-hash .pyc), then times
`python3.13 -S -c "import <handler module>"` in a fresh process per run with PYTHONDONTWRITEBYTECODE=1
(Lambda's /var/task and /opt are read-only, so nothing is cached between cold starts). Before and after
alternate run by run (the machine is shared); each figure is the median of the runs: the process's CPU
time (user + system, from wait4) and its wall time (perf_counter around it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra import appserver, network
from infra.bundling import FunctionSources, LockedDependencies

PLATFORM = {"x86_64": "x86_64-manylinux2014", "aarch64": "aarch64-manylinux2014"}[os.uname().machine]


def _strip_bytecode(directory: Path) -> None:
    for cache in directory.rglob("__pycache__"):
        shutil.rmtree(cache)


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def _run(script: str) -> tuple[float, float]:
    """(cpu seconds, wall seconds) of one fresh interpreter running `script`."""
    environment = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "us-east-1"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-S", "-c", script], env=environment, cwd="/")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, script
    return usage.ru_utime + usage.ru_stime, wall


def _script(module: str, paths: list[Path]) -> str:
    return f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}; import {module}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        code, layer = root / "after" / "code", root / "after" / "layer"
        FunctionSources().try_bundle(str(code), image=None)  # type: ignore[arg-type]
        LockedDependencies(platform=PLATFORM).try_bundle(str(layer), image=None)  # type: ignore[arg-type]
        shutil.copytree(root / "after", root / "before")
        _strip_bytecode(root / "before")
        sizes = {k: (_size(root / k / "code"), _size(root / k / "layer")) for k in ("before", "after")}
        handlers = sorted(spec.handler.rsplit(".", 1)[0] for spec in network.SPECS + appserver.SPECS)
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for module in handlers:
                for kind in ("before", "after"):
                    paths = [root / kind / "code", root / kind / "layer" / "python"]
                    samples.setdefault((module, kind), []).append(_run(_script(module, paths)))
        baseline = [_run("import sys") for _ in range(args.runs)]

    def median(values: list[tuple[float, float]], index: int) -> float:
        return statistics.median(v[index] for v in values)

    before, after = sizes["before"], sizes["after"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs")
    print(f"code bundle {before[0] / 1e6:.1f} MB -> {after[0] / 1e6:.1f} MB; layer {before[1] / 1e6:.1f} MB "
          f"-> {after[1] / 1e6:.1f} MB (unzipped)")  # fmt: skip
    start_cpu, start_wall = median(baseline, 0) * 1000, median(baseline, 1) * 1000
    print(f"interpreter start alone: {start_cpu:.0f} ms CPU, {start_wall:.0f} ms wall")
    print("| handler | CPU, sources only | CPU, with .pyc | wall, sources only | wall, with .pyc |")
    print("|---|---:|---:|---:|---:|")
    for module in handlers:
        b, a = samples[(module, "before")], samples[(module, "after")]
        print(f"| `{module}` | {median(b, 0):.2f} s | {median(a, 0):.2f} s | {median(b, 1):.2f} s | "
              f"{median(a, 1):.2f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
