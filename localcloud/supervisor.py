"""Keeps the local stack's long-running processes up: a Mosquitto or bridge that dies is started again,
and the log says so. On AWS, IoT Core is always there and ECS replaces a failed bridge task; here the
supervisor plays that part (clients reconnect by themselves: the awsiotsdk sessions retry)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("loraless.local.supervisor")


@dataclass
class Supervised:
    """One process: how to tell it runs, how to start it again, and how often it was restarted."""

    name: str
    running: Callable[[], bool]
    restart: Callable[[], object]
    restarts: int = 0


class Supervisor:
    """Checks each process every `interval_s` and restarts the dead ones, until `stop` is set."""

    def __init__(self, processes: list[Supervised], interval_s: float = 1.0) -> None:
        self.processes = processes
        self.interval_s = interval_s

    def check(self) -> list[str]:
        """Restart what is not running; returns the names restarted (a failed restart is tried again
        at the next check)."""
        restarted = []
        for process in self.processes:
            if process.running():
                continue
            log.warning("%s is not running; restarting it", process.name)
            try:
                process.restart()
            except Exception:
                log.exception("restarting %s failed; trying again in %.0f s", process.name, self.interval_s)
                continue
            process.restarts += 1
            restarted.append(process.name)
            log.warning("%s restarted (%d restarts so far)", process.name, process.restarts)
        return restarted

    def watch(self, stop: threading.Event, timeout_s: float | None = None) -> None:
        """Check until `stop` is set or `timeout_s` has passed (None: until `stop`)."""
        waited = 0.0
        while not stop.wait(self.interval_s):
            self.check()
            waited += self.interval_s
            if timeout_s is not None and waited >= timeout_s:
                return
