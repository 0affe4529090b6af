"""A write-ahead journal in front of moto's DynamoDB, so the local cloud keeps what it acknowledged.

moto holds its tables in memory; a snapshot every few seconds loses whatever was written since the
last one when the process is killed (a revoked API key worked again, a frame counter rolled back and
a replayed frame was accepted). Here every successful write request is appended to a journal file and
synced to disk *before* its response leaves, the way a database acknowledges a commit; at start the
snapshot is loaded and the journal replayed over it, request by request, in the order they were
applied. Writes are applied one at a time so the journal's order is the order moto applied them (a
conditional write replayed over the same state decides the same way). The sync to disk is a group
commit, outside that lock: one fsync covers every line appended before it, so writers waiting for
theirs share it (a write is visible to readers a moment before it is durable, never answered before).
A snapshot compacts the journal: it is taken with writes held, after which the journal starts empty.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("loraless.local.journal")

TARGET_PREFIX = "DynamoDB_20120810."
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class WriteJournal:
    """Append-only file of acknowledged DynamoDB write requests (one JSON line each), synced per write.

    `fsync=False` trades the guarantee against power loss (not against a killed process: the page
    cache survives that) for speed; the default keeps both.
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self.lock = threading.Lock()  # held around each write request and around a compaction
        self.recording = False  # off while the journal itself is being replayed at start
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._open()
        self.appended = 0
        self.syncs = 0
        self._synced = 0
        self._sync_lock = threading.Lock()

    def _open(self) -> Any:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(descriptor, "ab", buffering=0)

    def append(self, operation: str, body: bytes) -> int:
        """Called with `lock` held, after moto applied the request; returns the line's number for
        `sync_through`, which must return before the client hears of its success."""
        line = json.dumps({"op": operation, "body": json.loads(body)}, separators=(",", ":")).encode()
        self._file.write(line + b"\n")
        self.appended += 1
        return self.appended

    def sync_through(self, number: int) -> None:
        """Return once line `number` is on disk; one fsync serves every line appended before it."""
        if not self.fsync:
            return
        with self._sync_lock:
            if self._synced >= number:
                return  # another writer's fsync covered this line
            through = self.appended
            os.fsync(self._file.fileno())
            self._synced = through
            self.syncs += 1

    def entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The journal's requests in order; a torn last line (cut mid-write, never acknowledged) ends it."""
        if not self.path.exists():
            return
        with self.path.open("rb") as source:
            for number, raw in enumerate(source, start=1):
                try:
                    entry = json.loads(raw)
                except ValueError:
                    log.warning("journal line %d is incomplete (a write cut short); ignored", number)
                    return
                yield entry["op"], entry["body"]

    @property
    def synced(self) -> int:
        """The number of the last line known to be on disk."""
        return self._synced

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def truncate(self) -> None:
        """Start an empty journal; called with `lock` held, right after a snapshot was written. Line
        numbers go on counting: every line so far is durable now (in the snapshot)."""
        with self._sync_lock:
            self._file.close()
            with self.path.open("wb") as emptied:
                os.fsync(emptied.fileno())
            self._file = self._open()
            self._synced = self.appended

    def close(self) -> None:
        self._file.close()


def journaled(app: WsgiApp, journal: WriteJournal) -> WsgiApp:
    """WSGI middleware: DynamoDB write requests run one at a time and reach the journal before the client
    sees their success; reads pass through untouched and concurrently."""

    def middleware(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.removeprefix(TARGET_PREFIX)
        if not target.startswith(TARGET_PREFIX) or operation not in WRITES:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = _Body(body)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda _data: None

        number = 0
        with journal.lock:
            chunks = b"".join(app(environ, capture))
            if journal.recording and str(captured["status"]).startswith("200"):
                number = journal.append(operation, body)
        if number:
            journal.sync_through(number)
        start_response(captured["status"], captured["headers"])
        return [chunks]

    return middleware


class _Body:
    """The request body, read once by the middleware, handed on as a stream."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._at + size
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk

    def readline(self, size: int = -1) -> bytes:
        end = self._data.find(b"\n", self._at)
        end = len(self._data) if end < 0 else end + 1
        if size is not None and size >= 0:
            end = min(end, self._at + size)
        chunk, self._at = self._data[self._at : end], end
        return chunk


def replay(journal: WriteJournal, endpoint_url: str, region: str) -> int:
    """Send the journal's requests again, in order, to a DynamoDB endpoint holding the snapshot they
    followed; returns how many. A request that fails now failed nowhere before, so it is logged loudly."""
    replayed = 0
    for operation, body in journal.entries():
        request = urllib.request.Request(
            endpoint_url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "X-Amz-Target": TARGET_PREFIX + operation,
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as error:
            log.error("journal replay: %s failed (%s): %s", operation, error.code, error.read()[:300])
            continue
        replayed += 1
    return replayed
