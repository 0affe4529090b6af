"""A handler whose module starts a thread at import (a background flusher, say): not safe to fork."""

from __future__ import annotations

import threading
from typing import Any

STOP = threading.Event()
threading.Thread(target=STOP.wait, daemon=True, name="background-flusher").start()


def handler(event: Any, context: Any) -> dict[str, int]:
    return {"threads": threading.active_count()}
