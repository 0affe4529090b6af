"""An application's MQTT credentials through the API: the Api handler asks IoT (here the local cloud's
IoT stand-in, signing with the broker's CA) for a certificate; with it the application reads its own
events from the real broker and sends downlink commands for its devices, and cannot read another
application's events."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from localcloud.aws_api import AwsApi
from localcloud.broker import Mosquitto
from localcloud.mqtt import BrokerAccess, ServiceSession
from localcloud.sigv4 import LocalCredentials
from tests.support.api import call, make_tenant, ok
from tests.support.mosquitto import Inbox


def test_an_application_certificate_reads_its_own_topics_only(
    dynamodb: str,
    admin_key: str,
    broker: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iot = AwsApi(
        None,  # type: ignore[arg-type]
        lambda *_: None,
        sign_csr=broker.ca.sign_request,
        credentials=LocalCredentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]),
    ).start()
    access = broker.access_for("loraless-cloud")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT", iot.url)
    monkeypatch.setenv("APPLICATION_POLICY_NAME", "ApplicationPolicy")
    monkeypatch.setenv("LORALESS_MQTT_ENDPOINT", f"{access.host}:{access.port}")
    monkeypatch.setenv("LORALESS_MQTT_CA_FILE", str(access.ca_path))
    acme, globex = make_tenant(admin_key, "Acme"), make_tenant(admin_key, "Globex")
    application_id = acme.ids["application_id"]
    path = f"/applications/{application_id}/integrations/mqtt/certificate"
    assert call("POST", path, None, acme.viewer)[0] == 403
    assert call("POST", path, None, globex.admin)[0] == 404
    issued = ok("POST", path, None, acme.device_admin, 201)
    iot.stop()
    assert issued["subscribe"] == f"application/{application_id}/#"
    assert issued["endpoint"] == f"{access.host}:{access.port}" and "BEGIN CERTIFICATE" in issued["ca_pem"]
    cert, key = tmp_path / "app.pem", tmp_path / "app.key"
    cert.write_text(issued["certificate_pem"])
    key.write_text(issued["private_key_pem"])
    received: list[str] = []
    arrived = threading.Event()

    def on_message(topic: str, _payload: bytes, _client: str) -> None:
        received.append(topic)
        arrived.set()

    application = ServiceSession(
        BrokerAccess(access.host, access.port, access.ca_path, cert, key),
        issued["client_id"],
        on_message=on_message,
    ).start()
    inbox = Inbox(broker, "application/+/device/+/command/down")
    try:
        application.subscribe([issued["subscribe"], f"application/{globex.ids['application_id']}/#"])
        cloud = Inbox(broker)
        for app in (globex.ids["application_id"], application_id):
            cloud.publish(f"application/{app}/device/{acme.ids['dev_eui']}/event/up", {"fCnt": 1})
        assert arrived.wait(10)
        time.sleep(0.5)  # room for the other application's event, which must not come
        assert received == [f"application/{application_id}/device/{acme.ids['dev_eui']}/event/up"]
        command = {"devEui": acme.ids["dev_eui"], "fPort": 1, "data": "AQ=="}
        application.publish(f"application/{application_id}/device/{acme.ids['dev_eui']}/command/down",
                            json.dumps(command).encode())  # fmt: skip
        (got,) = inbox.wait("application/+/device/+/command/down")
        assert got == command
        cloud.close()
    finally:
        application.stop()
        inbox.close()
