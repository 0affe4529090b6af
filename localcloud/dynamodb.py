"""DynamoDB for the local cloud: moto's DynamoDB backend behind our own server (`dynamodb_server.py`)
by default, or any endpoint (e.g. LocalStack's); the
tables created from the template, TTL honoured by a sweeper (moto stores TTL settings but never expires
items), and the data kept between runs unless the user asks for a reset: a snapshot file plus a
write-ahead journal of every write acknowledged since (`journal.py`), so a killed process loses nothing
it acknowledged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from localcloud.dynamodb_server import DynamoDBServer
from localcloud.journal import WriteJournal, replay
from localcloud.template import LOCAL_REGION, TableDef

log = logging.getLogger("loraless.local.dynamodb")
_SERIALIZER, _DESERIALIZER = TypeSerializer(), TypeDeserializer()


def _portable(value: dict[str, Any], *, decode: bool) -> dict[str, Any]:
    """Binary attributes as base64 text in the snapshot file, and back."""
    ((kind, inner),) = value.items()
    convert = base64.b64decode if decode else (lambda b: base64.b64encode(b).decode())
    if kind == "B":
        return {kind: convert(inner)}
    if kind == "BS":
        return {kind: [convert(b) for b in inner]}
    if kind == "M":
        return {kind: {k: _portable(v, decode=decode) for k, v in inner.items()}}
    if kind == "L":
        return {kind: [_portable(v, decode=decode) for v in inner]}
    return value


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalDynamoDB:
    """Tables from the template on an endpoint; `start_moto` serves moto's backend from this process."""

    def __init__(self, tables: Iterable[TableDef], *, endpoint_url: str | None = None) -> None:
        self.tables = list(tables)
        self.endpoint_url = endpoint_url
        self.journal: WriteJournal | None = None
        self._moto: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start_moto(
        self, host: str = "127.0.0.1", port: int = 0, *, journal: Path | None = None
    ) -> LocalDynamoDB:
        """moto's DynamoDB backend served from a thread of this process (`dynamodb_server.py`); with
        `journal`, every acknowledged write is kept there."""
        port = port or free_port(host)
        self.journal = WriteJournal(journal) if journal is not None else None
        self._moto = DynamoDBServer(host, port, LOCAL_REGION, self.journal).start()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def recover(self, snapshot: Path) -> tuple[int, int]:
        """The snapshot, then the journal's writes since it, then a fresh snapshot and an empty journal;
        from here on every acknowledged write is journaled. Returns (items restored, writes replayed)."""
        restored = self.load(snapshot)
        replayed = 0
        if self.journal is not None:
            replayed = replay(self.journal, str(self.endpoint_url), LOCAL_REGION)
            self.save(snapshot)  # compacts: the replayed writes are in the snapshot now
            self.journal.recording = True
        return restored, replayed

    @property
    def client(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def create_tables(self) -> None:
        """Create every table that is missing (an existing one, e.g. in LocalStack, is left as it is)."""
        client = self.client
        existing = set(client.list_tables()["TableNames"])
        for table in self.tables:
            if table.name in existing:
                continue
            client.create_table(**table.create_args)
            if table.ttl_attribute:
                client.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )

    def drop_tables(self) -> None:
        """Delete the template's tables (a reset; moto keeps its data per process, not per server)."""
        client = self.client
        existing = set(client.list_tables()["TableNames"])
        for table in self.tables:
            if table.name in existing:
                client.delete_table(TableName=table.name)

    def _items(self, table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=table, ConsistentRead=True):
            items.extend(page["Items"])
        return items

    def sweep_ttl(self, now: float | None = None) -> int:
        """Delete items whose TTL attribute lies in the past, as DynamoDB's TTL does (eventually)."""
        now = time.time() if now is None else now
        if self._moto is not None:  # our own server: in memory, no scan over HTTP
            ttl = {table.name: table.ttl_attribute for table in self.tables if table.ttl_attribute}
            return int(self._moto.sweep_ttl(ttl, now))
        deleted = 0
        client = self.client
        for table in self.tables:
            if not table.ttl_attribute:
                continue
            keys = [k["AttributeName"] for k in table.create_args["KeySchema"]]
            for item in self._items(table.name):
                expiry = item.get(table.ttl_attribute, {}).get("N")
                if expiry is not None and float(expiry) < now:
                    client.delete_item(TableName=table.name, Key={k: item[k] for k in keys})
                    deleted += 1
        return deleted

    def save(self, path: Path) -> int:
        """Write every item of every table to `path` (DynamoDB JSON); returns the item count. With a
        journal, writes wait meanwhile and the journal starts empty afterwards (they are in the file)."""
        if self._moto is not None:  # on the server's thread: no request is applied until it is done
            with self._lock:
                return int(
                    self._moto.call(lambda: self._save(path, self._moto.dump([t.name for t in self.tables])))
                )
        with self._lock:
            data = {
                table.name: [
                    {k: _portable(v, decode=False) for k, v in item.items()}
                    for item in self._items(table.name)
                ]
                for table in self.tables
            }
            return self._save(path, data)

    def _save(self, path: Path, data: dict[str, list[dict[str, Any]]]) -> int:
        with self.journal.lock if self.journal is not None else contextlib.nullcontext():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(json.dumps(data))
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(path)
            if self.journal is not None:
                self.journal.truncate()
            return sum(len(items) for items in data.values())

    def load(self, path: Path) -> int:
        """Put back what `save` wrote; tables no longer in the template are skipped with a warning."""
        if not path.exists():
            return 0
        data = json.loads(path.read_text())
        names = {table.name for table in self.tables}
        client = self.client
        restored = 0
        for table, items in data.items():
            if table not in names:
                log.warning("snapshot has items for %s, which the template no longer defines", table)
                continue
            for item in items:
                client.put_item(TableName=table, Item={k: _portable(v, decode=True) for k, v in item.items()})
                restored += 1
        return restored

    def keep(self, path: Path, interval_s: float = 30.0, *, compact_bytes: int = 8 << 20) -> None:
        """In the background: sweep expired items every `interval_s`; save the snapshot then too, or,
        with a journal (which already keeps every write), only once the journal outgrows `compact_bytes`."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.sweep_ttl()
                    if self.journal is None or self.journal.size() > compact_bytes:
                        self.save(path)
                except Exception:  # a failed sweep is retried next round; the cloud keeps running
                    log.exception("TTL sweep or snapshot failed")

        self._thread = threading.Thread(target=loop, daemon=True, name="dynamodb-keeper")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._moto is not None:
            # moto keeps data per process, not per server: drop our tables, as a stopped process would
            # (not moto's global reset, which would wipe other users of moto in this process).
            with contextlib.suppress(Exception):
                self.drop_tables()
            with contextlib.suppress(Exception):
                self._moto.stop()
        if self.journal is not None:
            self.journal.close()


def to_item(document: dict[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB JSON (tests and tools)."""
    return {k: _SERIALIZER.serialize(v) for k, v in document.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}
