"""Tiny Lambda handlers the local-cloud tests invoke through real worker processes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

COUNTER = {"calls": 0}


def echo(event: Any, context: Any) -> dict[str, Any]:
    """Returns the event, the context's name and what this warm environment remembers."""
    COUNTER["calls"] += 1
    return {
        "event": event,
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "calls_in_this_environment": COUNTER["calls"],
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
    }


def count(event: Any, context: Any) -> dict[str, Any]:
    """Waits `seconds`, then counts this call in the module's state; says which process it ran in and which
    process started that one (the function's template, when environments are forked)."""
    time.sleep(float(event.get("seconds", 0)))
    COUNTER["calls"] += 1
    return {"pid": os.getpid(), "parent": os.getppid(), "calls_in_this_environment": COUNTER["calls"]}


def fail(event: Any, context: Any) -> None:
    """Fails until the marker file named in the event has been touched `succeed_after` times."""
    marker = Path(event["marker"])
    attempts = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(attempts))
    if attempts <= int(event.get("succeed_after", 99)):
        raise RuntimeError(f"attempt {attempts} fails")


def sleep(event: Any, context: Any) -> str:
    time.sleep(float(event["seconds"]))
    return "woke"


def exits(event: Any, context: Any) -> None:
    os._exit(3)


def call_other(event: Any, context: Any) -> Any:
    """Calls another function through boto3, as the network server calls the join server."""
    import boto3

    client = boto3.client("lambda")
    response = client.invoke(FunctionName=event["target"], Payload=json.dumps(event["payload"]).encode())
    return {"status": response["StatusCode"], "payload": json.loads(response["Payload"].read())}


def _rest_api() -> Any:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError

    app = APIGatewayRestResolver()

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> dict[str, Any]:
        if thing_id == "missing":
            raise NotFoundError("no such thing")
        return {"id": thing_id, "q": app.current_event.get_query_string_value("q")}

    @app.post("/things")
    def create_thing() -> tuple[dict[str, Any], int]:
        return {"created": app.current_event.json_body}, 201

    return app


REST_API = _rest_api()


def api(event: Any, context: Any) -> Any:
    """A Powertools REST resolver: proves the local API Gateway's proxy events are the real shape."""
    return REST_API.resolve(event, context)


def relay(event: Any, context: Any) -> None:
    """An IoT-rule target that answers on another topic through the IoT data API, as the network
    server sends gateway commands."""
    import boto3

    client = boto3.client("iot-data", endpoint_url=os.environ["IOT_DATA_ENDPOINT"])
    reply = {"seen": event, "table": os.environ.get("TABLE_NAME")}
    client.publish(topic=f"out/{event['topic_name']}", qos=1, payload=json.dumps(reply).encode())


def count_item(event: Any, context: Any) -> dict[str, Any]:
    """An API route that counts hits per path in the template's table (DynamoDB endpoint from the env)."""
    import boto3

    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    key = {"id": event["pathParameters"]["proxy"]}
    table.update_item(Key=key, UpdateExpression="ADD hits :one", ExpressionAttributeValues={":one": 1})
    item = table.get_item(Key=key, ConsistentRead=True)["Item"]
    body = json.dumps({"hits": int(item["hits"])})
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}


def record_when_open(event: Any, context: Any) -> None:
    """Waits until the gate file named in the event exists, then appends the event to its log file: a
    run can be held mid-invocation and killed, and the test counts how often the event ran."""
    while not Path(event["gate"]).exists():
        time.sleep(0.02)
    with Path(event["log"]).open("a") as log:
        log.write(json.dumps(event) + "\n")
