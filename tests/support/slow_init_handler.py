"""A handler whose import takes INIT_SLEEP_S seconds: a cold start's init phase, for the runtime tests."""

from __future__ import annotations

import os
import time
from typing import Any

time.sleep(float(os.environ.get("INIT_SLEEP_S", "0")))


def handler(event: Any, _context: Any) -> Any:
    return {"event": event}
