"""The whole local stack as a user runs it (`python -m localcloud.run`, what `make run` starts), in a
process session of its own so that a test can kill it whole (`kill -9`), as a crash would, and restart
it over the same data directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class LocalStack:
    """`python -m localcloud.run` in a session of its own, so a kill -9 takes it whole, as a crash would."""

    def __init__(self, data_dir: Path, ports: dict[str, int], options: tuple[str, ...] = ()) -> None:
        self.data_dir, self.ports = data_dir, ports
        self.options = options  # more `localcloud.run` options, e.g. --allow-private-webhooks
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._changed = threading.Condition()
        self.runs = 0
        self.log: list[str] = []  # every run's output, in order

    def start(self) -> None:
        command = [
            sys.executable, "-m", "localcloud.run", "--data-dir", str(self.data_dir),
            "--udp-host", "127.0.0.1", "--udp-port", str(self.ports["udp"]),
            "--mqtt-port", str(self.ports["mqtt"]), "--api-port", str(self.ports["api"]),
            "--health-port", str(self.ports["health"]), *self.options,
        ]  # fmt: skip
        self.runs += 1
        self.output = []
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._read, args=(self.process, self.output), daemon=True).start()
        self.wait_for("Ctrl-C stops everything.")

    def _read(self, process: subprocess.Popen[str], output: list[str]) -> None:
        """Drain the stack's output all along (a full pipe would stall it) into `output`."""
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                output.append(line)
                self.log.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout_s: float = 90) -> None:
        """Until a line of the current run contains `text`; fails with the output so far."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not any(text in line for line in self.output):
                remaining = deadline - time.monotonic()
                assert remaining > 0 and self.process.poll() is None, "".join(self.output)
                self._changed.wait(min(remaining, 1.0))

    def api(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        key = (self.data_dir / "admin-api-key").read_text().strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['api']}/v1{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]
