"""The application MQTT certificate against moto's IoT (the session's moto server; each test in a region
of its own, so it starts with no certificates): attached to its thing and policy when all goes
well; when attaching fails (here: the policy does not exist, on AWS it was AccessDenied), the request
fails and no certificate is left behind, active or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.appserver import mqtt_credentials

APPLICATION = "0b5f0a52-6f3e-4c4e-9b0a-3c2a1d5e7f10"


REGIONS = {"test_the_certificate_is_attached_to_its_thing_and_policy": "ap-northeast-1",
           "test_a_failed_attachment_leaves_no_certificate": "ap-northeast-2"}  # fmt: skip


@pytest.fixture
def iot(
    dynamodb_server: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """moto in-process (mock_aws) would reset the moto server's state the other tests share; its server
    answers IoT too, so the clients are pointed at it."""
    region = REGIONS[request.node.name]
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT", dynamodb_server)
    monkeypatch.setattr(mqtt_credentials.SETTINGS, "aws_region", region)
    mqtt_credentials._iot.cache_clear()
    yield boto3.client("iot", region_name=region, endpoint_url=dynamodb_server)
    mqtt_credentials._iot.cache_clear()


def test_the_certificate_is_attached_to_its_thing_and_policy(
    iot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    iot.create_policy(
        policyName="ApplicationPolicy", policyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    monkeypatch.setattr(mqtt_credentials.SETTINGS, "application_policy_name", "ApplicationPolicy")
    issued = mqtt_credentials.issue(APPLICATION)
    (certificate,) = iot.list_certificates()["certificates"]
    assert certificate["certificateId"] == issued["certificate_id"] and certificate["status"] == "ACTIVE"
    attached = iot.list_attached_policies(target=certificate["certificateArn"])["policies"]
    assert [p["policyName"] for p in attached] == ["ApplicationPolicy"]
    assert iot.list_thing_principals(thingName=APPLICATION)["principals"] == [certificate["certificateArn"]]


def test_a_failed_attachment_leaves_no_certificate(iot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mqtt_credentials.SETTINGS, "application_policy_name", "NoSuchPolicy")
    with pytest.raises(Exception, match=r"ResourceNotFound|not found|does not exist"):
        mqtt_credentials.issue(APPLICATION)
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_thing_principals(thingName=APPLICATION)["principals"] == []
