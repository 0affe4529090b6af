"""lora-packet (npm) as an oracle: one node process per batch of operations (never one per case)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "lora_packet.js"


def available() -> bool:
    return shutil.which("node") is not None and (HERE / "node_modules" / "lora-packet").is_dir()


def run(operations: list[dict[str, Any]], timeout_s: float = 120) -> list[dict[str, Any]]:
    """Each result is {"ok": value} or {"error": message}, in the order of `operations`."""
    completed = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(operations).encode(),
        capture_output=True,
        cwd=HERE,
        timeout=timeout_s,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results
