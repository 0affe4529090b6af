"""The local Lambda's asynchronous invocations survive a kill -9: accepted means journaled, and a restart
runs what was not finished, once, with the retries it had left (issue 15, deliverable 6)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localcloud.invocation_journal import InvocationJournal
from localcloud.lambda_runtime import LambdaService
from tests.functional.test_local_lambda_runtime import BASE_ENV, _function

ROOT = Path(__file__).resolve().parents[2]


class Runtime:
    """tests/support/async_queue_process.py in a session of its own, its output collected."""

    def __init__(self, journal: Path, event: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "tests.support.async_queue_process", str(journal)]
        self.process = subprocess.Popen(
            command + ([json.dumps(event)] if event else []),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.strip())
                self._changed.notify_all()

    def wait_for(self, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while text not in self.lines:
                assert time.monotonic() < deadline and self.process.poll() is None, self.lines
                self._changed.wait(0.5)

    def kill(self) -> None:
        """kill -9 of the runtime and its workers, as a crash of `make run` would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    started: list[Runtime] = []
    yield started
    for runtime in started:
        runtime.kill()


def test_an_accepted_invocation_killed_before_it_finished_runs_once_after_the_restart(
    tmp_path: Path, runtimes: list[Runtime]
) -> None:
    journal, ran = tmp_path / "lambda-async.journal", tmp_path / "ran.jsonl"
    event = {"gate": str(tmp_path / "gate"), "log": str(ran), "deduplicationId": "d-1"}
    first = Runtime(journal, event)
    runtimes.append(first)
    first.wait_for("accepted")  # what the rules engine's PUBACK or the API's 202 waits for
    first.kill()  # the handler is held at its gate: the invocation never finished
    assert not ran.exists()

    (tmp_path / "gate").touch()
    second = Runtime(journal)
    runtimes.append(second)
    second.wait_for("resumed 1")
    second.wait_for("done ok=True")
    second.kill()
    assert [json.loads(line) for line in ran.read_text().splitlines()] == [event]  # the same event, once

    third = Runtime(journal)  # a finished invocation is not run again
    runtimes.append(third)
    third.wait_for("resumed 0")
    third.kill()
    assert len(ran.read_text().splitlines()) == 1
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600


def test_a_restart_keeps_the_retries_used_and_dead_letters_after_the_last(tmp_path: Path) -> None:
    path = tmp_path / "lambda-async.journal"
    event = {"marker": str(tmp_path / "attempts")}
    before = InvocationJournal(path)
    queued = before.add("Fail", event)
    (tmp_path / "attempts").write_text("1")  # the first attempt failed before the kill
    before.failed(queued)
    before.close()

    service = LambdaService(
        {"Fail": _function("Fail", "fail")}, BASE_ENV, dead_letters=tmp_path / "dead-letters.jsonl",
        retry_delays_s=(0.0, 0.0), journal=InvocationJournal(path),
    )  # fmt: skip
    try:
        (resumed,) = service.resume()
        assert not resumed.result(timeout=60).ok
    finally:
        service.close()
    assert (tmp_path / "attempts").read_text() == "3"  # two attempts left after the restart, not three
    (letter,) = [json.loads(line) for line in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert letter["event"] == event
    assert InvocationJournal(path).recovered == []


def test_acknowledgements_follow_the_sync_in_order_and_a_torn_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "lambda-async.journal"
    journal = InvocationJournal(path, compact_bytes=200)  # small: compacted while invocations are pending
    order: list[str] = []
    everything = threading.Event()

    def note(what: str) -> Callable[[], None]:
        return lambda: order.append(what)

    kept = [journal.add("F", {"n": n}, note(f"add {n}")) for n in range(20)]
    for queued in kept[:15]:
        journal.done(queued)
    journal.add("F", {"n": 20}, everything.set)
    assert everything.wait(10)
    journal.close()
    assert order == [f"add {n}" for n in range(20)]
    with path.open("ab") as out:
        out.write(b'{"op":"add","id":"cut')  # a write cut short by a kill: never acknowledged
    assert [q.event for q in InvocationJournal(path).recovered] == [{"n": n} for n in range(15, 21)]
