"""Downlinks with an expiry (ChirpStack's expiresAt, TTS's "avoid retrying forever"): dropped unsent once
expired, refused when already past; over REST and over MQTT."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.appserver import queue
from functions.appserver.downlinks import handle_mqtt_command
from functions.appserver.models import Device
from tests.support.api import call, make_tenant, ok
from tests.support.chirpstack import check_topic

DEV_EUI = "0004a30b001c0530"


def test_an_expired_downlink_is_never_sent(dynamodb: str) -> None:
    Device(DEV_EUI, application_id="a" * 32).save()
    # 3 s: both enqueues and the first read fit before it even on a loaded machine (1 s did not always)
    soon = datetime.now(UTC) + timedelta(seconds=3)
    queue.enqueue(DEV_EUI, 1, b"\x01", expires_at=soon)
    keep = queue.enqueue(DEV_EUI, 2, b"\x02", expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert [d.f_port for d in queue.pending(DEV_EUI)] == [1, 2]
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    assert [d.queue_item_id for d in queue.pending(DEV_EUI)] == [keep]
    # and it is gone, not skipped each time
    assert [d.queue_item_id for d in queue.pending(DEV_EUI)] == [keep]


def test_expiry_over_mqtt(dynamodb: str) -> None:
    Device(DEV_EUI, application_id="a" * 32).save()
    published: list[tuple[str, dict[str, Any]]] = []
    base = {"devEui": DEV_EUI, "fPort": 3, "data": "AQ==", "topic_application_id": "a" * 32,
            "topic_dev_eui": DEV_EUI}  # fmt: skip
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert handle_mqtt_command(base | {"expiresAt": later}, lambda t, m: published.append((t, m)))
    for bad in ("2020-01-01T00:00:00Z", "tomorrow", "2030-01-01T00:00:00"):
        assert handle_mqtt_command(base | {"expiresAt": bad}, lambda t, m: published.append((t, m))) is None
    assert len(published) == 3 and all(t.endswith("/event/log") for t, _ in published)
    assert [m["code"] for _, m in published] == ["EXPIRED", "UNKNOWN", "UNKNOWN"]
    for topic, message in published:
        check_topic(topic, json.dumps(message))
    assert len(queue.pending(DEV_EUI, limit=10)) == 1


def test_expiry_over_rest(dynamodb: str, admin_key: str) -> None:
    acme = make_tenant(admin_key, "Acme")
    path = f"/devices/{acme.ids['dev_eui']}/queue"
    past = {"f_port": 1, "data": "AQ==", "expires_at": "2020-01-01T00:00:00Z"}
    assert call("POST", path, past, acme.admin)[0] == 400
    future = past | {"expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    ok("POST", path, future, acme.admin, 201)
    assert len(ok("GET", path, token=acme.viewer)["items"]) == 1
