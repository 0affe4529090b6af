"""The application MQTT certificate against moto's IoT: attached to its thing and policy when all goes
well; when attaching fails (here: the policy does not exist, on AWS it was AccessDenied), the request
fails and no certificate is left behind, active or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.appserver import mqtt_credentials

APPLICATION = "0b5f0a52-6f3e-4c4e-9b0a-3c2a1d5e7f10"


@pytest.fixture
def iot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_IOT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(mqtt_credentials.SETTINGS, "aws_region", "us-east-1")
    mqtt_credentials._iot.cache_clear()
    with mock_aws():
        yield boto3.client("iot", region_name="us-east-1")
    mqtt_credentials._iot.cache_clear()


def test_the_certificate_is_attached_to_its_thing_and_policy(
    iot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    iot.create_policy(
        policyName="ApplicationPolicy", policyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    monkeypatch.setenv("APPLICATION_POLICY_NAME", "ApplicationPolicy")
    issued = mqtt_credentials.issue(APPLICATION)
    (certificate,) = iot.list_certificates()["certificates"]
    assert certificate["certificateId"] == issued["certificate_id"] and certificate["status"] == "ACTIVE"
    attached = iot.list_attached_policies(target=certificate["certificateArn"])["policies"]
    assert [p["policyName"] for p in attached] == ["ApplicationPolicy"]
    assert iot.list_thing_principals(thingName=APPLICATION)["principals"] == [certificate["certificateArn"]]


def test_a_failed_attachment_leaves_no_certificate(iot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLICATION_POLICY_NAME", "NoSuchPolicy")
    with pytest.raises(Exception, match=r"ResourceNotFound|not found|does not exist"):
        mqtt_credentials.issue(APPLICATION)
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_thing_principals(thingName=APPLICATION)["principals"] == []
