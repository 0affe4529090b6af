"""The bridge credential custom resource (infra/provisioning/bridge_credential.py) against moto's IoT and
Secrets Manager: Create fills the fields the bridge task reads with a certificate that has the bridge
policy; Update with new properties issues a new one (rotation); Delete removes it; a failed attachment
leaves no certificate behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from moto import mock_aws

from infra.provisioning import bridge_credential

POLICY = "LoralessBridgePolicy"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IOT", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        iot, secrets = boto3.client("iot"), boto3.client("secretsmanager")
        iot.create_policy(policyName=POLICY, policyDocument='{"Version":"2012-10-17","Statement":[]}')
        secret = secrets.create_secret(Name="BridgeMqttCertificate", SecretString="placeholder")["ARN"]
        yield iot, secrets, secret


def _properties(secret: str, serial: str = "1") -> dict[str, str]:
    return {"PolicyName": POLICY, "SecretId": secret, "Serial": serial}


def _event(kind: str, secret: str, serial: str = "1", **extra: Any) -> dict[str, Any]:
    return {"RequestType": kind, "ResourceProperties": _properties(secret, serial), **extra}


def test_create_issues_an_attached_certificate_into_the_fields_the_task_reads(aws: Any) -> None:
    iot, secrets, secret = aws
    answer = bridge_credential.on_event(_event("Create", secret), None)
    stored = json.loads(secrets.get_secret_value(SecretId=secret)["SecretString"])
    assert stored["certificate_id"] == answer["PhysicalResourceId"] == answer["Data"]["CertificateId"]
    certificate = x509.load_pem_x509_certificate(stored["certificate_pem"].encode())
    key = serialization.load_pem_private_key(stored["private_key"].encode(), password=None)
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    (listed,) = iot.list_certificates()["certificates"]
    assert listed["status"] == "ACTIVE"
    policies = iot.list_attached_policies(target=listed["certificateArn"])["policies"]
    assert [p["policyName"] for p in policies] == [POLICY]


def test_rotation_issues_a_new_certificate_and_delete_removes_the_old(aws: Any) -> None:
    iot, secrets, secret = aws
    first = bridge_credential.on_event(_event("Create", secret), None)["PhysicalResourceId"]
    old = _properties(secret)
    unchanged = bridge_credential.on_event(
        _event("Update", secret, PhysicalResourceId=first, OldResourceProperties=old), None
    )
    assert unchanged["PhysicalResourceId"] == first
    second = bridge_credential.on_event(
        _event("Update", secret, "2", PhysicalResourceId=first, OldResourceProperties=old), None
    )["PhysicalResourceId"]
    assert second != first
    assert json.loads(secrets.get_secret_value(SecretId=secret)["SecretString"])["certificate_id"] == second
    bridge_credential.on_event(
        _event("Delete", secret, PhysicalResourceId=first), None
    )  # CloudFormation cleanup
    assert [c["certificateId"] for c in iot.list_certificates()["certificates"]] == [second]
    bridge_credential.on_event(_event("Delete", secret, "2", PhysicalResourceId=second), None)
    assert iot.list_certificates()["certificates"] == []


def test_a_failed_attachment_leaves_no_certificate(aws: Any) -> None:
    iot, _, secret = aws
    event = _event("Create", secret)
    event["ResourceProperties"]["PolicyName"] = "NoSuchPolicy"
    with pytest.raises(Exception, match=r"ResourceNotFound|not found|does not exist"):
        bridge_credential.on_event(event, None)
    assert iot.list_certificates()["certificates"] == []
