"""MQTT credentials for an application, as ChirpStack v4's "generate certificate" for its MQTT integration:
a client certificate whose holder may subscribe to `application/{id}/#` and publish downlink commands for
the application's devices, and nothing else.

The key pair is made here and the private key returned once, never stored. The certificate comes from
IoT Core (CreateCertificateFromCsr, subject CN = application id), is attached to a thing named by the
application id and to the stack's ApplicationPolicy, whose `${iot:Connection.Thing.ThingName}` binds the
topics to that thing. In the local cloud the same IoT calls reach the local CA, and the broker's ACL
binds the topics to the certificate's common name.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from functions.shared.settings import SETTINGS

log = logging.getLogger(__name__)
AMAZON_ROOT_CA = "https://www.amazontrust.com/repository/AmazonRootCA1.pem"


class CredentialsUnavailable(Exception):
    """The deployment cannot issue MQTT certificates (no application policy configured)."""


@lru_cache(maxsize=1)
def _iot() -> Any:
    import boto3

    return boto3.client("iot", region_name=SETTINGS.aws_region)


def _endpoint() -> str:
    configured = os.environ.get("LORALESS_MQTT_ENDPOINT")
    if configured:
        return configured
    host = (SETTINGS.iot_data_endpoint or "").removeprefix("https://").removeprefix("http://").rstrip("/")
    return f"{host}:8883"


def _discard(iot: Any, certificate_id: str, certificate_arn: str, thing_name: str) -> None:
    """An active certificate without its policy is of no use and must not outlive the failed request:
    detach it from the thing, deactivate and delete it (best effort, the original error is raised)."""
    for step in (
        lambda: iot.detach_thing_principal(thingName=thing_name, principal=certificate_arn),
        lambda: iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE"),
        lambda: iot.delete_certificate(certificateId=certificate_id, forceDelete=True),
    ):
        try:
            step()
        except Exception as exc:  # cleanup goes on; the caller raises the cause
            log.warning("certificate %s cleanup step failed: %s", certificate_id, type(exc).__name__)


def issue(application_id: str) -> dict[str, Any]:
    policy = os.environ.get("APPLICATION_POLICY_NAME")
    if not policy:
        raise CredentialsUnavailable("this deployment has no application MQTT policy")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, application_id)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    iot = _iot()
    created = iot.create_certificate_from_csr(
        certificateSigningRequest=csr.public_bytes(serialization.Encoding.PEM).decode(), setAsActive=True
    )
    try:
        iot.create_thing(thingName=application_id)  # idempotent for an existing thing without attributes
        iot.attach_thing_principal(thingName=application_id, principal=created["certificateArn"])
        iot.attach_policy(policyName=policy, target=created["certificateArn"])
    except Exception:
        _discard(iot, created["certificateId"], created["certificateArn"], application_id)
        raise
    answer: dict[str, Any] = {
        "certificate_id": created["certificateId"],
        "certificate_pem": created["certificatePem"],
        "private_key_pem": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "endpoint": _endpoint(),
        "client_id": application_id,
        "subscribe": f"application/{application_id}/#",
        "publish": f"application/{application_id}/device/+/command/down",
    }
    ca_file = os.environ.get("LORALESS_MQTT_CA_FILE")
    if ca_file:
        with open(ca_file) as ca:
            answer["ca_pem"] = ca.read()
    else:
        answer["ca_url"] = AMAZON_ROOT_CA
    return answer
