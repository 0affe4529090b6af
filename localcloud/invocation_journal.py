"""Lambda's asynchronous invocation queue kept on disk, so the local cloud keeps what it accepted.

On AWS an asynchronous invocation (IoT rule -> Lambda, `Invoke` with `InvocationType=Event`) is
stored durably by Lambda before the caller hears 202, and a rule's message is Lambda's once IoT Core
handed it over. Locally the queue lived in memory, so a `kill -9` of `make run` lost every invocation
queued, waiting for a retry or running. Here each one is appended to a journal and synced to disk
before it is acknowledged (the rules engine's PUBACK, the API's 202), a failed attempt is noted, and
the invocation is marked done when it succeeds or is dead-lettered. At start, whatever is not done
runs again with the retries it has left. The sync is a group commit on a thread of its own: one
fsync covers every line appended before it, and the acknowledgements it releases follow in order.
Marks of progress (an attempt failed, done) wait for no sync: losing one to a power cut means an
invocation runs once more, which every function here tolerates (the uplink resumes or drops a copy by
its reception key; a re-published event keeps its `deduplicationId`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger("loraless.local.lambda")

COMPACT_BYTES = 4 * 1024 * 1024  # past this size (and 4x the pending entries) the journal is rewritten

Durable = Callable[[], None]


@dataclass
class Queued:
    """One accepted asynchronous invocation; `failed` attempts so far (Lambda retries twice)."""

    id: str
    function: str
    event: Any
    failed: int = 0


class InvocationJournal:
    """Append-only JSON lines (`add`, `failed`, `done`); the pending invocations are also in memory."""

    def __init__(self, path: Path, *, fsync: bool = True, compact_bytes: int = COMPACT_BYTES) -> None:
        """`fsync=False` still keeps everything through a killed process (the page cache survives it),
        not through a power cut; for measuring what the sync costs."""
        self.path = path
        self.fsync = fsync
        self.compact_bytes = compact_bytes
        self._lock = threading.Lock()  # appends, the pending set, the file swapped by a compaction
        self._pending: dict[str, Queued] = {}
        self._appended = 0  # lines appended so far (numbered from 1)
        self._size = 0
        self._rewritten_size = 0  # the size right after the last rewrite: the pending entries alone
        self._changed = threading.Condition()  # guards what follows: the sync thread's work
        self._synced = 0
        self._waiting: list[tuple[int, Durable]] = []
        self._closed = False
        self.syncs = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.recovered: list[Queued] = self._load()
        self._file: BinaryIO = self._rewrite()
        self._syncer = threading.Thread(target=self._sync_loop, daemon=True, name="invocation-journal")
        self._syncer.start()

    def _load(self) -> list[Queued]:
        """The invocations a previous run accepted and did not finish, in the order it accepted them."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as source:
            for number, raw in enumerate(source, start=1):
                try:
                    entry = json.loads(raw)
                except ValueError:  # cut mid-write by the kill: never acknowledged
                    log.warning("%s: line %d is incomplete; ignored", self.path.name, number)
                    break
                if entry["op"] == "add":
                    self._pending[entry["id"]] = Queued(
                        entry["id"], entry["function"], entry["event"], entry.get("failed", 0)
                    )
                elif entry["id"] in self._pending:
                    if entry["op"] == "failed":
                        self._pending[entry["id"]].failed += 1
                    elif entry["op"] == "done":
                        del self._pending[entry["id"]]
        return list(self._pending.values())

    def _rewrite(self) -> BinaryIO:
        """Replace the journal by one holding the pending invocations only (atomically: a new file,
        synced, renamed over the old one, the directory synced) and open it for appending."""
        partial = self.path.with_name(self.path.name + ".new")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            for queued in self._pending.values():
                out.write(_line({"op": "add", **queued.__dict__}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._size = self._rewritten_size = self.path.stat().st_size
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o600)
        return os.fdopen(descriptor, "ab", buffering=0)

    def _append(self, entry: dict[str, Any]) -> int:
        """Called with `_lock` held; returns the line's number. After `close` (an invocation that outlived
        the drain) nothing is written: the invocation stays pending and runs again at the next start."""
        if self._file.closed:
            return self._appended
        line = _line(entry)
        self._file.write(line)
        self._size += len(line)
        self._appended += 1
        return self._appended

    def add(self, function: str, event: Any, on_durable: Durable | None = None) -> Queued:
        """Accept an invocation; `on_durable` is called (on the journal's thread) once it is on disk."""
        queued = Queued(str(uuid.uuid4()), function, event)
        with self._lock:
            number = self._append({"op": "add", **queued.__dict__})
            self._pending[queued.id] = queued
        if on_durable is not None:
            self._when_synced(number, on_durable)
        return queued

    def failed(self, queued: Queued) -> None:
        """An attempt failed and a retry is due: a restart runs it with one retry fewer."""
        with self._lock:
            queued.failed += 1
            self._append({"op": "failed", "id": queued.id})

    def done(self, queued: Queued) -> None:
        """The invocation succeeded or went to the dead letters: a restart does not run it again."""
        with self._lock:
            self._pending.pop(queued.id, None)
            self._append({"op": "done", "id": queued.id})

    def _when_synced(self, number: int, callback: Durable) -> None:
        with self._changed:
            if self._closed:
                raise RuntimeError("the invocation journal is closed")
            self._waiting.append((number, callback))
            self._changed.notify()

    def _sync_loop(self) -> None:
        """Sync whenever someone waits, then release the waiters the sync covered; compact when big."""
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if not self._waiting:
                    return
            with self._lock:
                through, file = self._appended, self._file
            if self.fsync:
                os.fsync(file.fileno())
            self.syncs += 1
            with self._changed:
                self._synced = max(self._synced, through)
                ready = [callback for number, callback in self._waiting if number <= self._synced]
                self._waiting = [(n, c) for n, c in self._waiting if n > self._synced]
            for callback in ready:
                try:
                    callback()
                except Exception:  # one waiter's failure must not stop the others' acknowledgements
                    log.exception("an acknowledgement after the journal's sync failed")
            if self._size > max(self.compact_bytes, 4 * self._rewritten_size):  # a backlog: not every sync
                self._compact()

    def _compact(self) -> None:
        with self._lock:
            self._file.close()
            self._file = self._rewrite()
            through = self._appended  # every pending entry is in the synced new file
        with self._changed:
            self._synced = max(self._synced, through)

    def close(self) -> None:
        """Sync what waits, stop the journal's thread; the pending invocations stay for the next start."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._syncer.join(10)
        with self._lock:
            self._file.close()


def _line(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"
