"""Cold import of every Lambda handler against its own bundle, without and with compiled bytecode.

`python -m bench.cold_import [--runs 5]` builds the shared code bundle and the dependency layer as
infra/bundling.py does (the layer for this machine's platform, from the same lock: the arm64 one cannot
load here), once as before (sources only) and once as now (unchecked-hash .pyc), then times
`python3.13 -S -c "import <handler module>"` in a fresh process per run with PYTHONDONTWRITEBYTECODE=1
(Lambda's /var/task and /opt are read-only, so nothing is cached between cold starts). Median of the
runs, wall time of the whole process, measured with Python's perf_counter around it.
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


def _time_import(module: str, paths: list[Path], runs: int) -> float:
    script = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}; import {module}"
    environment = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "us-east-1"}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", script], env=environment, check=True, cwd="/")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        code, layer = root / "code", root / "layer"
        FunctionSources().try_bundle(str(code), image=None)  # type: ignore[arg-type]
        LockedDependencies(platform=PLATFORM).try_bundle(str(layer), image=None)  # type: ignore[arg-type]
        after = (_size(code), _size(layer))
        handlers = sorted(spec.handler.rsplit(".", 1)[0] for spec in network.SPECS + appserver.SPECS)
        with_bytecode = {m: _time_import(m, [code, layer / "python"], args.runs) for m in handlers}
        _strip_bytecode(code)
        _strip_bytecode(layer)
        before = (_size(code), _size(layer))
        without = {m: _time_import(m, [code, layer / "python"], args.runs) for m in handlers}
        baseline = _time_import("sys", [], args.runs)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs; "
          f"interpreter start alone {baseline * 1000:.0f} ms")  # fmt: skip
    print(f"code bundle {before[0] / 1e6:.1f} MB -> {after[0] / 1e6:.1f} MB; layer {before[1] / 1e6:.1f} MB "
          f"-> {after[1] / 1e6:.1f} MB (unzipped)")  # fmt: skip
    print("| handler | sources only | with .pyc | ratio |\n|---|---:|---:|---:|")
    for module in handlers:
        print(f"| `{module}` | {without[module]:.2f} s | {with_bytecode[module]:.2f} s | "
              f"{without[module] / with_bytecode[module]:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
