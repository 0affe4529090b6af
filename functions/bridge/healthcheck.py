"""`python -m functions.bridge.healthcheck`: the container's health check (Dockerfile HEALTHCHECK and the
ECS task definition). Exit 0 while the bridge's health endpoint answers 200 (MQTT connected), else 1."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("BRIDGE_HEALTH_PORT", "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
