"""Application downlinks over MQTT into the queue, and TX acknowledgements back to the application."""

from __future__ import annotations

from typing import Any

import pytest

from functions.appserver import queue
from functions.appserver.downlinks import handle_mqtt_command
from functions.appserver.models import Device
from functions.network.models import PendingDownlink
from functions.network.transmissions import handle_tx_ack
from functions.shared import envelope
from functions.shared.interface import NetworkEvent

DEV_EUI = "0004a30b001c0530"


@pytest.fixture
def device(dynamodb: str) -> Device:
    item = Device(
        DEV_EUI, application_id="weather", root_keys=envelope.seal({"app_key": "00" * 16}, context=DEV_EUI)
    )
    item.save()
    return item


def command(**fields: Any) -> dict[str, Any]:
    base = {
        "devEui": DEV_EUI,
        "confirmed": False,
        "fPort": 10,
        "data": "AQID",
        "topic_application_id": "weather",
        "topic_dev_eui": DEV_EUI,
    }
    return base | fields


def test_a_chirpstack_downlink_command_is_queued(device: Device) -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    item_id = handle_mqtt_command(command(confirmed=True), lambda t, m: published.append((t, m)))
    assert item_id is not None and published == []
    (queued,) = queue.pending(DEV_EUI)
    assert (queued.f_port, queued.payload, queued.confirmed) == (10, b"\x01\x02\x03", True)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"devEui": "0004a30b001c0531"}, "differs"),
        ({"topic_application_id": "other"}, "not in application"),
        ({"data": "***"}, ""),
        ({"fPort": 0}, "FPort"),
        ({"fPort": "10"}, "integer"),
        ({"data": "A" * 400}, "exceeds"),
    ],
)
def test_malformed_commands_become_log_events_and_queue_nothing(
    device: Device, fields: dict[str, Any], reason: str
) -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    assert handle_mqtt_command(command(**fields), lambda t, m: published.append((t, m))) is None
    ((topic, message),) = published
    assert topic.endswith(f"/device/{DEV_EUI}/event/log") and message["level"] == "ERROR"
    assert reason in message["description"]
    assert queue.pending(DEV_EUI) == []


def test_tx_acks_reach_the_device_the_downlink_was_for(dynamodb: str) -> None:
    from datetime import UTC, datetime, timedelta

    PendingDownlink(
        4242,
        dev_eui=DEV_EUI,
        gateway_id="0016c001ff10a235",
        f_cnt=7,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    ).save()
    counts: list[str] = []
    events: list[NetworkEvent] = []
    ack = {
        "gatewayId": "0016c001ff10a235",
        "downlinkId": 4242,
        "items": [{"status": "TOO_LATE"}, {"status": "OK"}],
    }
    assert handle_tx_ack(ack, counts.append, events.append)["status"] == "OK"
    assert counts == ["DownlinksRX2"]
    ((event),) = events
    assert (event.type, event.dev_eui) == ("txack", DEV_EUI)
    assert event.details == {
        "downlinkId": 4242,
        "gatewayId": "0016c001ff10a235",
        "status": "OK",
        "fCntDown": 7,
        "window": "RX2",
    }
    # The same ack again (a retried invocation) finds nothing pending and emits nothing.
    assert handle_tx_ack(ack, counts.append, events.append)["status"] == "OK" and len(events) == 1
    lost = {
        "gatewayId": "0016c001ff10a235",
        "downlinkId": 9,
        "items": [{"status": "TOO_LATE"}, {"status": "TX_FREQ"}],
    }
    assert (
        handle_tx_ack(lost, counts.append, events.append)["status"] == "TX_FREQ" and counts[-1] == "TxErrors"
    )
