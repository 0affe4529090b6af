"""Custom resource (CDK Provider framework, `on_event`): the bridge's IoT Core credential.

Create: an active certificate and its key from IoT Core (CreateKeysAndCertificate), the bridge policy
attached, and `{"certificate_pem", "private_key", "certificate_id"}` written into the secret the bridge
task reads. Update with changed properties (a new `Serial`, another policy or secret): a new certificate,
so CloudFormation deletes the old one once the stack update (and the tasks' replacement) succeeded; this
is how the credential is rotated. Delete: the policy detached, the certificate deactivated and deleted.

A certificate whose policy or secret cannot be written is deleted before the error is raised, so a
failed deploy leaves none behind. Runs on the Lambda runtime's own boto3; no code of ours is imported.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import boto3

log = logging.getLogger()
log.setLevel(logging.INFO)


def _clients() -> tuple[Any, Any]:
    return boto3.client("iot"), boto3.client("secretsmanager")


def remove_certificate(iot: Any, certificate_id: str, policy_name: str | None) -> None:
    """Detach, deactivate, delete; a certificate that is already gone is fine."""
    try:
        arn = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"][
            "certificateArn"
        ]
    except iot.exceptions.ResourceNotFoundException:
        return
    if policy_name:
        with contextlib.suppress(iot.exceptions.ResourceNotFoundException):
            iot.detach_policy(policyName=policy_name, target=arn)
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    iot.delete_certificate(certificateId=certificate_id, forceDelete=True)


def issue(iot: Any, secrets: Any, *, policy_name: str, secret_id: str) -> dict[str, str]:
    """A new certificate with the policy attached and stored in the secret; nothing left on failure."""
    created = iot.create_keys_and_certificate(setAsActive=True)
    certificate_id = created["certificateId"]
    try:
        iot.attach_policy(policyName=policy_name, target=created["certificateArn"])
        secrets.put_secret_value(
            SecretId=secret_id,
            SecretString=json.dumps(
                {
                    "certificate_pem": created["certificatePem"],
                    "private_key": created["keyPair"]["PrivateKey"],
                    "certificate_id": certificate_id,
                }
            ),
        )
    except Exception:
        log.exception("bridge credential %s not completed; deleting it", certificate_id)
        remove_certificate(iot, certificate_id, policy_name)
        raise
    log.info("bridge credential %s issued", certificate_id)  # the id only: never the key
    return {"CertificateId": certificate_id, "CertificateArn": created["certificateArn"]}


def on_event(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    properties = event["ResourceProperties"]
    policy_name, secret_id = properties["PolicyName"], properties["SecretId"]
    kind = event["RequestType"]
    iot, secrets = _clients()
    if kind == "Delete":
        certificate_id = event["PhysicalResourceId"]
        if len(certificate_id) == 64:  # a failed Create reports a non-certificate physical id
            remove_certificate(iot, certificate_id, policy_name)
        return {"PhysicalResourceId": certificate_id}
    if kind == "Update" and properties == event.get("OldResourceProperties"):
        certificate_id = event["PhysicalResourceId"]
        arn = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"][
            "certificateArn"
        ]
        return {
            "PhysicalResourceId": certificate_id,
            "Data": {"CertificateId": certificate_id, "CertificateArn": arn},
        }
    data = issue(iot, secrets, policy_name=policy_name, secret_id=secret_id)
    return {"PhysicalResourceId": data["CertificateId"], "Data": data}
