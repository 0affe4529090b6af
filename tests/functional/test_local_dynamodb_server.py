"""The local cloud's DynamoDB server (moto's backend without moto's server) answers as moto's own server
does: the same requests through boto3 to both, the same answers and errors, binary attributes, condition
failures, transactions, batches, index queries and pages included."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from localcloud.dynamodb import free_port
from localcloud.dynamodb_server import DynamoDBServer

LEAN_REGION, MOTO_REGION = "ap-northeast-3", "me-central-1"  # moto keeps tables per region for the whole run:
# regions no other test uses, so other tests' tables do not show in ListTables


def _client(port: int, region: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name=region,
        aws_access_key_id="local", aws_secret_access_key="local", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[Any, Any]]:
    lean_port, moto_port = free_port(), free_port()
    lean = DynamoDBServer("127.0.0.1", lean_port, LEAN_REGION).start()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    try:
        yield _client(lean_port, LEAN_REGION), _client(moto_port, MOTO_REGION)
    finally:
        lean.stop()
        moto.stop()


def _outcome(call: Callable[[Any], Any], client: Any) -> Any:
    """The answer without what differs between any two servers (request ids, times, ARNs' region)."""
    try:
        answer = call(client)
    except ClientError as error:
        return {
            "error": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "item": error.response.get("Item"),
            "reasons": error.response.get("CancellationReasons"),
        }
    answer.pop("ResponseMetadata", None)
    return _scrub(answer)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in ("CreationDateTime", "LatestStreamLabel")}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return value.replace(LEAN_REGION, "<region>").replace(MOTO_REGION, "<region>")
    return value


TABLE = {
    "TableName": "Sessions",
    "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [
        {"AttributeName": "dev_eui", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "dev_eui", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
        {"AttributeName": "dev_addr", "AttributeType": "S"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "dev_addr",
            "KeySchema": [{"AttributeName": "dev_addr", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}


def _key(n: int) -> dict[str, Any]:
    return {"dev_eui": {"S": f"{n:016x}"}, "sk": {"N": "0"}}


CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("create table", lambda c: c.create_table(**TABLE)),
    ("create it again", lambda c: c.create_table(**TABLE)),
    ("describe", lambda c: c.describe_table(TableName="Sessions")),
    (
        "ttl on",
        lambda c: c.update_time_to_live(
            TableName="Sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
        ),
    ),
    ("ttl", lambda c: c.describe_time_to_live(TableName="Sessions")),
    *[
        (
            f"put {n}",
            lambda c, n=n: c.put_item(
                TableName="Sessions",
                Item={
                    **_key(n),
                    "dev_addr": {"S": f"2600{n:04x}"},
                    "keys": {"B": bytes(range(n, n + 32))},
                    "mac": {"M": {"adr": {"BOOL": True}, "history": {"L": [{"N": "-7.5"}, {"NULL": True}]}}},
                    "tags": {"SS": ["a", "b"]},
                    "f_cnt": {"N": str(n)},
                },
            ),
        )
        for n in range(12)
    ],
    (
        "conditional put that fails",
        lambda c: c.put_item(
            TableName="Sessions",
            Item={**_key(1), "dev_addr": {"S": "x"}},
            ConditionExpression="attribute_not_exists(dev_eui)",
        ),
    ),
    (
        "failure returning the item",
        lambda c: c.put_item(
            TableName="Sessions",
            Item={**_key(2), "dev_addr": {"S": "x"}},
            ConditionExpression="attribute_not_exists(dev_eui)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
    ),
    (
        "counter",
        lambda c: c.update_item(
            TableName="Sessions",
            Key=_key(3),
            UpdateExpression="SET f_cnt = :new ADD seen :one",
            ConditionExpression="f_cnt < :new",
            ReturnValues="ALL_NEW",
            ExpressionAttributeValues={":new": {"N": "100"}, ":one": {"N": "1"}},
        ),
    ),
    (
        "counter replayed",
        lambda c: c.update_item(
            TableName="Sessions",
            Key=_key(3),
            UpdateExpression="SET f_cnt = :new",
            ConditionExpression="f_cnt < :new",
            ExpressionAttributeValues={":new": {"N": "100"}},
        ),
    ),
    (
        "bad expression",
        lambda c: c.update_item(
            TableName="Sessions",
            Key=_key(3),
            UpdateExpression="SET = :x",
            ExpressionAttributeValues={":x": {"N": "1"}},
        ),
    ),
    (
        "list append",
        lambda c: c.update_item(
            TableName="Sessions",
            Key=_key(4),
            UpdateExpression="SET mac.history = list_append(mac.history, :v)",
            ExpressionAttributeValues={":v": {"L": [{"B": b"\x00\xff"}]}},
            ReturnValues="UPDATED_NEW",
        ),
    ),
    ("get", lambda c: c.get_item(TableName="Sessions", Key=_key(4), ConsistentRead=True)),
    (
        "get projected",
        lambda c: c.get_item(
            TableName="Sessions",
            Key=_key(4),
            ProjectionExpression="#k, f_cnt",
            ExpressionAttributeNames={"#k": "keys"},
        ),
    ),
    ("get missing", lambda c: c.get_item(TableName="Sessions", Key=_key(99))),
    ("missing table", lambda c: c.get_item(TableName="Nope", Key=_key(1))),
    (
        "index query",
        lambda c: c.query(
            TableName="Sessions",
            IndexName="dev_addr",
            KeyConditionExpression="dev_addr = :a",
            ExpressionAttributeValues={":a": {"S": "26000005"}},
        ),
    ),
    (
        "query",
        lambda c: c.query(
            TableName="Sessions",
            KeyConditionExpression="dev_eui = :d",
            ExpressionAttributeValues={":d": _key(6)["dev_eui"]},
            ScanIndexForward=False,
            Limit=1,
        ),
    ),
    ("scan page", lambda c: c.scan(TableName="Sessions", Limit=5, ConsistentRead=True)),
    (
        "scan filtered",
        lambda c: c.scan(
            TableName="Sessions", FilterExpression="f_cnt > :n", ExpressionAttributeValues={":n": {"N": "8"}}
        ),
    ),
    (
        "batch write",
        lambda c: c.batch_write_item(
            RequestItems={
                "Sessions": [
                    {"PutRequest": {"Item": {**_key(50), "dev_addr": {"S": "a"}}}},
                    {"DeleteRequest": {"Key": _key(0)}},
                ]
            }
        ),
    ),
    (
        "batch get",
        lambda c: c.batch_get_item(RequestItems={"Sessions": {"Keys": [_key(50), _key(1), _key(0)]}}),
    ),
    (
        "transaction cancelled",
        lambda c: c.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "Sessions", "Item": {**_key(60), "dev_addr": {"S": "b"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "Sessions",
                        "Key": _key(1),
                        "ConditionExpression": "f_cnt = :n",
                        "ExpressionAttributeValues": {":n": {"N": "7"}},
                    }
                },
            ]
        ),
    ),
    (
        "transaction",
        lambda c: c.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "Sessions", "Item": {**_key(61), "dev_addr": {"S": "b"}}}},
                {"Delete": {"TableName": "Sessions", "Key": _key(2)}},
                {"Update": {"TableName": "Sessions", "Key": _key(5), "UpdateExpression": "REMOVE tags"}},
            ]
        ),
    ),
    (
        "transact get",
        lambda c: c.transact_get_items(TransactItems=[{"Get": {"TableName": "Sessions", "Key": _key(61)}}]),
    ),
    ("delete returning", lambda c: c.delete_item(TableName="Sessions", Key=_key(7), ReturnValues="ALL_OLD")),
    ("after all", lambda c: c.scan(TableName="Sessions", ConsistentRead=True)),
    ("list tables", lambda c: c.list_tables()),
]


def test_every_request_is_answered_as_moto_server_answers_it(clients: tuple[Any, Any]) -> None:
    lean, moto = clients
    for name, call in CALLS:
        assert _outcome(call, lean) == _outcome(call, moto), name


def test_requests_that_are_not_dynamodb_are_refused(clients: tuple[Any, Any]) -> None:
    import urllib.error
    import urllib.request

    lean, _ = clients
    request = urllib.request.Request(lean.meta.endpoint_url, data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
