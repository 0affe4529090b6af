"""Counters the bridge keeps (datagrams by type, drops by reason, MQTT publishes and their latency),
exposed on the health endpoint and logged periodically."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Metrics:
    """Thread-safe counters plus a reservoir of recent publish latencies for p50/p99."""

    def __init__(self, latency_window: int = 10000) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self._latencies: list[float] = []
        self._window = latency_window

    def inc(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latencies.append(seconds)
            if len(self._latencies) > self._window:
                del self._latencies[: len(self._latencies) - self._window]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            latencies = sorted(self._latencies)
            counters = dict(self.counters)
        result: dict[str, Any] = {"counters": counters}
        if latencies:
            result["publish_latency_ms"] = {
                "p50": round(latencies[len(latencies) // 2] * 1000, 2),
                "p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
            }
        return result
