"""The local cloud assembled: a message on the broker goes through a topic rule to a function, which
answers through the IoT data API and writes to the template's table; the API Gateway route reaches a
function; data survives a restart."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.broker import Mosquitto
from localcloud.cloud import CloudSettings, LocalCloud
from localcloud.dynamodb import free_port
from localcloud.mqtt import ServiceSession
from tests.functional.test_local_broker import Inbox

HANDLERS = "tests.support.local_handlers"


def _template() -> dict[str, Any]:
    """A template in the shape CDK synthesizes: a table, two functions, one rule, one API method."""
    environment = {"Variables": {"TABLE_NAME": {"Ref": "HitsTable"}, "IOT_DATA_ENDPOINT": "set-locally"}}
    return {
        "Resources": {
            "HitsTable": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
            "Relay": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": f"{HANDLERS}.relay", "Timeout": 10, "Environment": environment},
            },
            "Counter": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": f"{HANDLERS}.count_item",
                    "Timeout": 10,
                    "Environment": environment,
                },
            },
            "Rule": {
                "Type": "AWS::IoT::TopicRule",
                "Properties": {
                    "TopicRulePayload": {
                        "Sql": "SELECT *, topic(3) AS topic_name FROM '+/gateway/+/event/up' WHERE n > 0",
                        "Actions": [{"Lambda": {"FunctionArn": {"Fn::GetAtt": ["Relay", "Arn"]}}}],
                    }
                },
            },
            "Method": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "Integration": {
                        "Uri": {
                            "Fn::Join": ["", ["arn:", {"Fn::GetAtt": ["Counter", "Arn"]}, "/invocations"]]
                        }
                    }
                },
            },
        }
    }


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path_factory.mktemp("broker"), port=free_port()).start()
    yield mosquitto
    mosquitto.stop()


def _settings(data_dir: Path) -> CloudSettings:
    return CloudSettings(data_dir=data_dir, api_port=free_port(), concurrency=2)


def test_a_message_runs_its_rule_and_the_function_publishes_back(broker: Mosquitto, tmp_path: Path) -> None:
    inbox = Inbox()
    with LocalCloud(broker, _settings(tmp_path), template=_template()):
        client = ServiceSession(
            broker.access_for("0102030405060708"), "0102030405060708", on_message=None
        ).start()
        watcher = ServiceSession(
            broker.access_for("loraless-cloud"), "loraless-cloud-watcher", on_message=inbox
        ).start()
        try:
            watcher.subscribe(["out/#"])
            client.publish("eu868/gateway/0102030405060708/event/up", b'{"n": 0}')  # WHERE drops it
            client.publish("eu868/gateway/0102030405060708/event/up", b'{"n": 5}')
            ((topic, payload),) = inbox.wait_for(1, timeout_s=20)
        finally:
            client.stop()
            watcher.stop()
    assert topic == "out/0102030405060708"
    assert json.loads(payload) == {"seen": {"n": 5, "topic_name": "0102030405060708"}, "table": "HitsTable"}


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


def test_api_route_reaches_its_function_and_data_survives_a_restart(
    broker: Mosquitto, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    with LocalCloud(broker, settings, template=_template()) as cloud:
        assert cloud.api is not None
        assert _get(f"{cloud.api.url}/devices-a") == {"hits": 1}
        assert _get(f"{cloud.api.url}/devices-a") == {"hits": 2}
        assert _get(f"{cloud.api.url}/devices-b") == {"hits": 1}
    with LocalCloud(broker, settings, template=_template()) as cloud:
        assert cloud.api is not None
        assert _get(f"{cloud.api.url}/devices-a") == {"hits": 3}
    reset = CloudSettings(data_dir=settings.data_dir, api_port=free_port(), reset=True)
    with LocalCloud(broker, reset, template=_template()) as cloud:
        assert cloud.api is not None
        assert _get(f"{cloud.api.url}/devices-a") == {"hits": 1}


def test_the_data_directory_is_private_to_its_user(broker: Mosquitto, tmp_path: Path) -> None:
    """Issue 15: `.local/` (hashes, sealed keys, decrypted payloads in dead letters) was world-readable."""
    data_dir = tmp_path / "state"
    with LocalCloud(broker, _settings(data_dir), template=_template()) as cloud:
        assert cloud.api is not None
        _get(f"{cloud.api.url}/devices-a")
        (data_dir / "bridge.log").open("a").close()  # as run.py opens its logs, after start
    found = [data_dir, *data_dir.rglob("*")]
    assert len(found) > 3
    for path in found:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_every_local_endpoint_listens_on_loopback_only(broker: Mosquitto, tmp_path: Path) -> None:
    """Issue 15: the API, the local AWS endpoints and DynamoDB are for this machine; only the bridge's UDP
    port is for the LAN (tests/functional/test_bridge.py checks the bridge's health endpoint)."""
    with LocalCloud(broker, _settings(tmp_path), template=_template()) as cloud:
        assert cloud.api is not None and cloud.aws_api is not None and cloud.dynamodb is not None
        for url in (cloud.api.url, cloud.aws_api.url, str(cloud.dynamodb.endpoint_url)):
            assert url.startswith("http://127.0.0.1:"), url
    assert broker.host == "127.0.0.1"
