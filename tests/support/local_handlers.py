"""Tiny Lambda handlers the local-cloud tests invoke through real worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

COUNTER = {"calls": 0}


def echo(event: Any, context: Any) -> dict[str, Any]:
    """Returns the event, the context's name and what this warm environment remembers."""
    COUNTER["calls"] += 1
    return {
        "event": event,
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "calls_in_this_environment": COUNTER["calls"],
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
    }


def fail(event: Any, context: Any) -> None:
    """Fails until the marker file named in the event has been touched `succeed_after` times."""
    marker = Path(event["marker"])
    attempts = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(attempts))
    if attempts <= int(event.get("succeed_after", 99)):
        raise RuntimeError(f"attempt {attempts} fails")


def sleep(event: Any, context: Any) -> str:
    time.sleep(float(event["seconds"]))
    return "woke"


def exits(event: Any, context: Any) -> None:
    os._exit(3)
