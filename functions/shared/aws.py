"""AWS clients, created once per process; endpoints come from the environment (boto3 honours
AWS_ENDPOINT_URL_<SERVICE>), so the same code talks to AWS, the local cloud or LocalStack."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3

from functions.shared.settings import SETTINGS


@lru_cache(maxsize=1)
def iot_data() -> Any:
    return boto3.client("iot-data", region_name=SETTINGS.aws_region, endpoint_url=SETTINGS.iot_data_endpoint)


@lru_cache(maxsize=1)
def lambda_client() -> Any:
    return boto3.client("lambda", region_name=SETTINGS.aws_region)


def publish(topic: str, message: dict[str, Any], *, retain: bool = False) -> None:
    iot_data().publish(
        topic=topic, qos=1, retain=retain, payload=json.dumps(message, separators=(",", ":")).encode()
    )


def invoke(function: str, payload: dict[str, Any], *, wait: bool) -> dict[str, Any] | None:
    """Invoke another function: synchronously (its answer) or as an event (None)."""
    response = lambda_client().invoke(
        FunctionName=function,
        InvocationType="RequestResponse" if wait else "Event",
        Payload=json.dumps(payload).encode(),
    )
    if not wait:
        return None
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"{function} failed: {body}")
    result: dict[str, Any] = body
    return result
