"""The local cloud's DynamoDB: tables from template definitions on moto server, TTL sweeps, snapshots."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.dynamodb import LocalDynamoDB, from_item, to_item
from localcloud.template import TableDef

SESSIONS = TableDef(
    name="Sessions",
    create_args={
        "TableName": "Sessions",
        "KeySchema": [{"AttributeName": "dev_eui", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "dev_eui", "AttributeType": "S"},
            {"AttributeName": "dev_addr", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_dev_addr",
                "KeySchema": [{"AttributeName": "dev_addr", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    },
    ttl_attribute=None,
)
DEDUP = TableDef(
    name="Dedup",
    create_args={
        "TableName": "Dedup",
        "KeySchema": [
            {"AttributeName": "key", "KeyType": "HASH"},
            {"AttributeName": "n", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "key", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    },
    ttl_attribute="expires_at",
)


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[LocalDynamoDB]:
    local = LocalDynamoDB([SESSIONS, DEDUP]).start_moto()
    local.create_tables()
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def empty(dynamodb: LocalDynamoDB) -> None:
    client = dynamodb.client
    for name, keys in (("Sessions", ["dev_eui"]), ("Dedup", ["key", "n"])):
        for item in client.scan(TableName=name)["Items"]:
            client.delete_item(TableName=name, Key={k: item[k] for k in keys})


def test_tables_have_the_template_keys_indexes_and_ttl(dynamodb: LocalDynamoDB) -> None:
    client = dynamodb.client
    described = client.describe_table(TableName="Sessions")["Table"]
    assert described["KeySchema"] == [{"AttributeName": "dev_eui", "KeyType": "HASH"}]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["by_dev_addr"]
    ttl = client.describe_time_to_live(TableName="Dedup")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    dynamodb.create_tables()  # a second start finds them and leaves them alone


def test_the_sweeper_deletes_expired_items_only(dynamodb: LocalDynamoDB) -> None:
    client = dynamodb.client
    now = time.time()
    client.put_item(TableName="Dedup", Item=to_item({"key": "a", "n": 1, "expires_at": int(now - 10)}))
    client.put_item(TableName="Dedup", Item=to_item({"key": "b", "n": 1, "expires_at": int(now + 600)}))
    client.put_item(TableName="Dedup", Item=to_item({"key": "c", "n": 1}))
    assert dynamodb.sweep_ttl(now) == 1
    assert sorted(from_item(i)["key"] for i in client.scan(TableName="Dedup")["Items"]) == ["b", "c"]


def test_a_snapshot_restores_every_item(dynamodb: LocalDynamoDB, tmp_path: Path) -> None:
    client = dynamodb.client
    item = {"dev_eui": "0102030405060708", "dev_addr": "26011bda", "f_cnt_up": 7, "keys": b"\x00\x01"}
    client.put_item(TableName="Sessions", Item=to_item(item))
    client.put_item(TableName="Dedup", Item=to_item({"key": "k", "n": 2}))
    path = tmp_path / "snapshot.json"
    assert dynamodb.save(path) == 2
    client.delete_item(TableName="Sessions", Key=to_item({"dev_eui": "0102030405060708"}))
    assert dynamodb.load(path) == 2
    (restored,) = client.scan(TableName="Sessions")["Items"]
    assert from_item(restored) == {**item, "keys": from_item(restored)["keys"]}
    assert bytes(from_item(restored)["keys"].value) == b"\x00\x01"
    by_addr = client.query(
        TableName="Sessions",
        IndexName="by_dev_addr",
        KeyConditionExpression="dev_addr = :a",
        ExpressionAttributeValues={":a": {"S": "26011bda"}},
    )
    assert by_addr["Count"] == 1


def test_a_snapshot_with_a_table_the_template_dropped_is_skipped(
    dynamodb: LocalDynamoDB, tmp_path: Path
) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"Gone": [{"id": {"S": "x"}}], "Dedup": [{"key": {"S": "x"}, "n": {"N": "1"}}]}')
    assert dynamodb.load(path) == 1
