"""The local cloud keeps every write it acknowledged when its process is killed (`kill -9`): a server
process with the journal takes conditional writes, counters and deletes, dies without a chance to
save, and a new process over the same files has every acknowledged write and no counter rolled back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from localcloud.dynamodb import free_port
from localcloud.journal import WriteJournal

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import sys, time
from pathlib import Path
from localcloud.dynamodb import LocalDynamoDB
from localcloud.template import TableDef
data, port = Path(sys.argv[1]), int(sys.argv[2])
table = TableDef(name="Counters", ttl_attribute=None, create_args={
    "TableName": "Counters", "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]})
local = LocalDynamoDB([table]).start_moto(port=port, journal=data / "dynamodb.journal")
local.create_tables()
restored, replayed = local.recover(data / "dynamodb.json")
print(f"ready {restored} {replayed}", flush=True)
time.sleep(3600)
"""


def _start(data: Path, port: int) -> tuple[subprocess.Popen[str], int, int]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(data), str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    assert line[:1] == ["ready"], line
    return process, int(line[1]), int(line[2])


def _client(port: int):  # type: ignore[no-untyped-def]
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )


def _bump(client, device: str) -> int:  # type: ignore[no-untyped-def]
    """A frame counter moved on with a conditional write, as the network server does."""
    answer = client.update_item(
        TableName="Counters",
        Key={"id": {"S": device}},
        UpdateExpression="ADD f_cnt :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["f_cnt"]["N"])


@pytest.mark.slow
def test_a_killed_process_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    port = free_port()
    process, restored, replayed = _start(tmp_path, port)
    assert (restored, replayed) == (0, 0)
    acknowledged: dict[str, int] = {}
    stop = threading.Event()

    def writer(device: str) -> None:  # writes until the kill; only answered writes count
        client = _client(port)
        while not stop.is_set():
            try:
                acknowledged[device] = _bump(client, device)
            except Exception:
                return

    try:
        client = _client(port)
        client.put_item(TableName="Counters", Item={"id": {"S": "api-key"}, "revoked": {"BOOL": False}})
        client.update_item(
            TableName="Counters",
            Key={"id": {"S": "api-key"}},
            UpdateExpression="SET revoked = :yes",
            ConditionExpression="revoked = :no",
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":no": {"BOOL": False}},
        )
        client.put_item(TableName="Counters", Item={"id": {"S": "user"}})
        client.delete_item(TableName="Counters", Key={"id": {"S": "user"}})
        threads = [threading.Thread(target=writer, args=(f"device-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        while sum(acknowledged.values()) < 200:
            threading.Event().wait(0.01)
        process.send_signal(signal.SIGKILL)  # no save, no clean stop
        process.wait(10)
        stop.set()
        for thread in threads:
            thread.join(10)
    finally:
        if process.poll() is None:
            process.kill()

    process, restored, replayed = _start(tmp_path, port)
    try:
        assert restored == 0 and replayed >= 4 + sum(acknowledged.values())
        client = _client(port)
        for device, f_cnt in acknowledged.items():
            item = client.get_item(TableName="Counters", Key={"id": {"S": device}}, ConsistentRead=True)
            assert int(item["Item"]["f_cnt"]["N"]) >= f_cnt, device  # never rolled back
        revoked = client.get_item(TableName="Counters", Key={"id": {"S": "api-key"}}, ConsistentRead=True)
        assert revoked["Item"]["revoked"] == {"BOOL": True}
        assert "Item" not in client.get_item(TableName="Counters", Key={"id": {"S": "user"}})
        # recovery compacted: the replayed writes are in the snapshot and the journal starts empty
        snapshot = json.loads((tmp_path / "dynamodb.json").read_text())
        assert len(snapshot["Counters"]) == 1 + len(acknowledged)
        assert (tmp_path / "dynamodb.journal").stat().st_size == 0
        assert _bump(client, "device-0") == int(
            client.get_item(TableName="Counters", Key={"id": {"S": "device-0"}})["Item"]["f_cnt"]["N"]
        )
    finally:
        process.kill()
        process.wait(10)


def test_a_torn_last_line_ends_the_replay(tmp_path: Path) -> None:
    path = tmp_path / "dynamodb.journal"
    journal = WriteJournal(path, fsync=False)
    journal.append("PutItem", b'{"TableName": "T", "Item": {"id": {"S": "a"}}}')
    journal.close()
    with path.open("ab") as out:
        out.write(b'{"op": "PutItem", "body": {"TableName": "T", "It')  # killed mid-write
    entries = list(WriteJournal(path).entries())
    assert entries == [("PutItem", {"TableName": "T", "Item": {"id": {"S": "a"}}})]


def test_the_journal_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    WriteJournal(tmp_path / "dynamodb.journal").close()
    assert (tmp_path / "dynamodb.journal").stat().st_mode & 0o077 == 0


def test_a_ttl_sweep_is_journaled_so_a_replay_agrees(tmp_path: Path) -> None:
    """The sweeper deletes in memory; its deletes go to the journal in order, so a later conditional put
    on the same key replays as it was applied."""
    from localcloud.dynamodb import LocalDynamoDB
    from localcloud.template import TableDef

    table = TableDef(
        name="Expiring", ttl_attribute="expires",
        create_args={"TableName": "Expiring", "BillingMode": "PAY_PER_REQUEST",
                     "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                     "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]},
    )  # fmt: skip
    local = LocalDynamoDB([table]).start_moto(journal=tmp_path / "dynamodb.journal")
    local.create_tables()
    local.recover(tmp_path / "dynamodb.json")
    client = local.client
    client.put_item(TableName="Expiring", Item={"id": {"S": "a"}, "expires": {"N": "10"}})
    client.put_item(TableName="Expiring", Item={"id": {"S": "b"}, "expires": {"N": "1000"}})
    assert local.sweep_ttl(now=100) == 1
    client.put_item(
        TableName="Expiring",
        Item={"id": {"S": "a"}, "v": {"N": "2"}},
        ConditionExpression="attribute_not_exists(id)",
    )
    local.stop()  # as a kill would leave it: the journal, no new snapshot

    again = LocalDynamoDB([table]).start_moto(journal=tmp_path / "dynamodb.journal")
    try:
        again.create_tables()
        restored, replayed = again.recover(tmp_path / "dynamodb.json")
        assert (restored, replayed) == (0, 4)
        item = again.client.get_item(TableName="Expiring", Key={"id": {"S": "a"}}, ConsistentRead=True)[
            "Item"
        ]
        assert item == {"id": {"S": "a"}, "v": {"N": "2"}}
        assert sorted(i["id"]["S"] for i in again.client.scan(TableName="Expiring")["Items"]) == ["a", "b"]
    finally:
        again.stop()
