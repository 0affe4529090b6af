"""Every benchmark still imports: no test runs the benches (they print figures, CI does not time them),
so a renamed helper one bench imports from another broke `bench.frame_log` unnoticed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_bench_module_imports() -> None:
    modules = sorted(f"bench.{p.stem}" for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__")
    assert len(modules) > 10
    # In a child: some benches set environment defaults when imported, which must not leak into tests.
    code = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    done = subprocess.run(
        [sys.executable, "-c", code, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
