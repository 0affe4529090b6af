"""DynamoDB's JSON API over HTTP, served by moto's DynamoDB backend without moto's server around it.

moto's server spends most of a request outside DynamoDB: werkzeug and Flask, finding the service among
every moto backend by host (with a directory check per service), listing the handler's methods with
`inspect`, parsing the body against botocore's model and serializing the answer through it. Here one
asyncio thread reads HTTP/1.1 requests, hands the JSON body straight to moto's `DynamoHandler` method
for the `X-Amz-Target` operation, and writes its JSON back: same backend, same answers and errors
(tests/functional/test_local_dynamodb_server.py compares them with moto's own server), a fraction of the
CPU. Requests run one at a time in arrival order, so with a journal the journal's order is the order
they were applied; a write's answer waits for the group-commit fsync that covers its journal line
(`journal.py`), while the next requests go on.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import datetime
import decimal
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from localcloud.journal import TARGET_PREFIX, WRITES, WriteJournal

log = logging.getLogger("loraless.local.dynamodb")
T = TypeVar("T")

ACCOUNT = "123456789012"  # moto's default account, as its server picks for any access key
JSON_TYPE = "application/x-amz-json-1.0"
MAX_BODY = 16 << 20  # DynamoDB's largest request (a 25-item batch of 400 KB items) is well below this
_REASONS = {200: "OK", 400: "Bad Request", 413: "Payload Too Large", 500: "Internal Server Error"}


def _name_this_thread(name: str) -> None:
    """Give the OS thread a name (`/proc/<pid>/task/<tid>/comm`), so per-thread CPU can be attributed."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


class Dispatcher:
    """One DynamoDB JSON request -> (HTTP status, JSON body), through moto's DynamoHandler methods."""

    def __init__(self, region: str) -> None:
        from moto.dynamodb.responses import DynamoHandler

        self.region = region
        self._handler_class = DynamoHandler
        self._methods: dict[str, Callable[[Any], Any]] = {}

    def _method(self, operation: str) -> Callable[[Any], Any] | None:
        method = self._methods.get(operation)
        if method is None:
            method = getattr(self._handler_class, _snake(operation), None)
            if method is None or operation.startswith("_"):
                return None
            self._methods[operation] = method
        return method

    def __call__(self, operation: str, body: bytes) -> tuple[int, bytes]:
        from moto.core.exceptions import ServiceException
        from moto.core.responses import ActionResult
        from werkzeug.exceptions import HTTPException

        method = self._method(operation)
        if method is None:
            return 400, _error("UnknownOperationException", f"unknown operation {operation}")
        handler = self._handler_class()
        try:
            handler.body = json.loads(body or b"{}")
        except ValueError:
            return 400, _error("SerializationException", "the request body is not JSON")
        handler.region = self.region
        handler.current_account = ACCOUNT
        try:
            result = method(handler)
        except HTTPException as error:  # moto's DynamoDB errors: a JSON description and a status
            return int(error.code or 400), str(error.description).encode()
        except ServiceException as error:
            return 400, _error(error.code, error.message)
        if isinstance(result, ActionResult):
            return 200, json.dumps(result.result, default=_json_default, separators=(",", ":")).encode()
        if isinstance(result, str):
            return 200, result.encode()
        if isinstance(result, tuple):  # (body, headers) or (status, headers, body)
            status = int(result[1].get("status", 200)) if len(result) == 2 else int(result[0])
            content = result[0] if len(result) == 2 else result[2]
            return status, content.encode() if isinstance(content, str) else bytes(content)
        return 200, json.dumps(result, default=_json_default).encode()


def _error(code: str, message: str) -> bytes:
    return json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()


class _Connection(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; requests of one connection are answered in order."""

    def __init__(self, server: DynamoDBServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.answers: asyncio.Queue[asyncio.Future[bytes] | None] = asyncio.Queue()
        self.writer = asyncio.get_running_loop().create_task(self._write_answers())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.answers.put_nowait(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self._close()
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._respond(413, _error("RequestEntityTooLarge", "request too large"))
                self._close()
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            target = headers.get("x-amz-target", "")
            if not target.startswith(TARGET_PREFIX):
                self._respond(400, _error("UnknownOperationException", "not a DynamoDB request"))
                continue
            self.answers.put_nowait(self.server.handle(target.removeprefix(TARGET_PREFIX), body))

    def _respond(self, status: int, body: bytes) -> None:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        future.set_result(_response(status, body))
        self.answers.put_nowait(future)

    async def _write_answers(self) -> None:
        while (answer := await self.answers.get()) is not None:
            data = await answer
            if self.transport is None or self.transport.is_closing():
                return
            self.transport.write(data)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _response(status: int, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {JSON_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\nx-amzn-RequestId: {uuid.uuid4()}\r\n\r\n"
    )
    return head.encode() + body


class DynamoDBServer:
    """The server on one thread of this process (named `dynamodb`); `start` returns once it listens."""

    def __init__(self, host: str, port: int, region: str, journal: WriteJournal | None = None) -> None:
        self.host, self.port = host, port
        self.dispatch = Dispatcher(region)
        self.journal = journal
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._syncs: _GroupCommit | None = None

    def handle(self, operation: str, body: bytes) -> asyncio.Future[bytes]:
        """Apply the request now; the answer is ready at once, or, for a journaled write, once synced."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        self.requests += 1
        journal = self.journal
        if journal is None or operation not in WRITES:
            answer.set_result(_response(*self._apply(operation, body)))
            return answer
        with journal.lock:  # compactions (snapshots) take it from other threads
            status, content = self._apply(operation, body)
            number = journal.append(operation, body) if journal.recording and status == 200 else 0
        if not number or not journal.fsync:
            answer.set_result(_response(status, content))
        else:
            assert self._syncs is not None
            self._syncs.after(number, answer, _response(status, content))
        return answer

    def call(self, work: Callable[[], T], timeout_s: float = 120) -> T:
        """Run `work` on the server's thread between two requests (no request runs meanwhile)."""
        assert self._loop is not None
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(work())
            except BaseException as error:  # handed to the caller's thread
                done.set_exception(error)

        self._loop.call_soon_threadsafe(run)
        return done.result(timeout_s)

    def items(self, table: str) -> Iterator[Any]:
        """moto's items of `table` (call on the server's thread)."""
        from moto.dynamodb.models import dynamodb_backends

        found = dynamodb_backends[ACCOUNT][self.dispatch.region].tables.get(table)
        if found is None:
            return
        for entry in list(found.items.values()):
            yield from (list(entry.values()) if found.range_key_attr else [entry])

    def key_names(self, table: str) -> list[str]:
        from moto.dynamodb.models import dynamodb_backends

        found = dynamodb_backends[ACCOUNT][self.dispatch.region].tables[table]
        return [name for name in (found.hash_key_attr, found.range_key_attr) if name]

    def dump(self, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Every item of `tables` in DynamoDB JSON, binary values base64 (call on the server's thread)."""
        dumped: dict[str, list[dict[str, Any]]] = {}
        for table in tables:
            items = [item.to_json()["Attributes"] for item in self.items(table)]
            dumped[table] = json.loads(json.dumps(items, default=_json_default))
        return dumped

    def sweep_ttl(self, ttl: Mapping[str, str], now: float) -> int:
        """Delete the items whose TTL attribute (`ttl`: table -> attribute) lies before `now`, in memory
        rather than by scanning over HTTP; each delete is journaled as a DeleteItem request, so a replay
        applies it in the same order (it is acknowledged to nobody, so it does not wait for a sync)."""

        def work() -> int:
            expired: list[tuple[str, dict[str, Any]]] = []
            for table, attribute in ttl.items():
                try:
                    keys = self.key_names(table)
                except KeyError:  # not created (yet)
                    continue
                for item in self.items(table):
                    value = item.attrs.get(attribute)
                    if value is not None and value.type == "N" and float(value.value) < now:
                        expired.append((table, {k: item.attrs[k].to_json() for k in keys}))
            for table, key in expired:
                body = json.dumps({"TableName": table, "Key": key}, default=_json_default).encode()
                if self.journal is None:
                    self._apply("DeleteItem", body)
                    continue
                with self.journal.lock:
                    status, _ = self._apply("DeleteItem", body)
                    if status == 200 and self.journal.recording:
                        self.journal.append("DeleteItem", body)
            return len(expired)

        return self.call(work)

    def _apply(self, operation: str, body: bytes) -> tuple[int, bytes]:
        try:
            return self.dispatch(operation, body)
        except Exception as error:  # a fault of the emulator: answered as DynamoDB's InternalServerError
            log.exception("DynamoDB %s failed inside the emulator", operation)
            return 500, _error("InternalServerError", f"{type(error).__name__}: {error}")

    def start(self) -> DynamoDBServer:
        self._thread = threading.Thread(target=self._run, daemon=True, name="dynamodb")
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the DynamoDB server did not start")
        return self

    def _run(self) -> None:
        _name_this_thread("dynamodb")
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopped = asyncio.Event()
        if self.journal is not None:
            self._syncs = _GroupCommit(self.journal, loop)
        server = await loop.create_server(lambda: _Connection(self), self.host, self.port, reuse_address=True)
        self._ready.set()
        async with server:
            await self._stopped.wait()
        if self._syncs is not None:
            self._syncs.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)


class _GroupCommit:
    """Answers to journaled writes, held until an fsync covers their line. One thread syncs while the
    server goes on: every line appended before an fsync starts is covered by it."""

    def __init__(self, journal: WriteJournal, loop: asyncio.AbstractEventLoop) -> None:
        self.journal, self.loop = journal, loop
        self.waiting: list[tuple[int, asyncio.Future[bytes], bytes]] = []
        self.wanted = threading.Condition()
        self.highest = 0
        self.running = True
        self.thread = threading.Thread(target=self._sync_loop, daemon=True, name="dynamodb-fsync")
        self.thread.start()

    def after(self, number: int, answer: asyncio.Future[bytes], data: bytes) -> None:
        self.waiting.append((number, answer, data))
        with self.wanted:
            self.highest = max(self.highest, number)
            self.wanted.notify()

    def _sync_loop(self) -> None:
        _name_this_thread("dynamodb-fsync")
        while True:
            with self.wanted:
                while self.running and self.journal.synced >= self.highest:
                    self.wanted.wait()
                if not self.running:
                    return
            self.journal.sync_through(self.highest)
            self.loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        synced = self.journal.synced
        still = []
        for number, answer, data in self.waiting:
            if number <= synced:
                if not answer.done():
                    answer.set_result(data)
            else:
                still.append((number, answer, data))
        self.waiting = still

    def stop(self) -> None:
        with self.wanted:
            self.running = False
            self.wanted.notify()


def main() -> None:
    """`python -m localcloud.dynamodb_server PORT`: the store alone, in memory, without a journal, for
    benches that measure a client against the same server the local cloud runs (`bench.network`)."""
    import sys
    import time

    DynamoDBServer("127.0.0.1", int(sys.argv[1]), "us-east-1").start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
