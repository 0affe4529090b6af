"""Application downlinks over MQTT into the queue, and TX acknowledgements back to the application."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.appserver import queue
from functions.appserver.downlinks import handle_mqtt_command
from functions.appserver.models import Device
from functions.network.models import PendingDownlink
from functions.network.transmissions import handle_tx_ack
from functions.shared import envelope
from functions.shared.interface import NetworkEvent
from tests.support.chirpstack import check_topic

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
        ({"fPort": 1.5}, "integer"),
        ({"data": "A" * 400}, "exceeds"),
        ({"id": "not-a-uuid"}, "UUID"),
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
    check_topic(topic, json.dumps(message))  # a ChirpStack LogCode, string context
    expected = "DOWNLINK_PAYLOAD_SIZE" if reason == "exceeds" else "UNKNOWN"
    assert message["code"] == expected
    assert queue.pending(DEV_EUI) == []


def test_the_commands_id_is_the_queue_items_id_and_a_repeated_command_is_queued_once(device: Device) -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    command_id = "8fd6a5ef-3b56-4e3a-9c2c-7c3b5d0d5b2a"
    for _ in range(2):  # an MQTT QoS 1 redelivery
        queued_id = handle_mqtt_command(command(id=command_id), lambda t, m: published.append((t, m)))
        assert queued_id == command_id
    (queued,) = queue.pending(DEV_EUI)
    assert queued.queue_item_id == command_id and published == []


def test_proto_field_names_are_taken_as_proto3_json_readers_take_them(device: Device) -> None:
    snake = {"dev_eui": DEV_EUI, "f_port": "12", "data": "AQID", "expires_at": "2099-01-01T00:00:00Z",
             "topic_application_id": "weather", "topic_dev_eui": DEV_EUI}  # fmt: skip
    parsed = check_topic(
        f"application/weather/device/{DEV_EUI}/command/down",
        json.dumps({k: v for k, v in snake.items() if not k.startswith("topic_")}),
    )  # ChirpStack's reader takes it too
    assert parsed is not None
    assert handle_mqtt_command(snake, lambda t, m: None) is not None
    (queued,) = queue.pending(DEV_EUI)
    assert (queued.f_port, queued.payload) == (12, b"\x01\x02\x03")


def test_an_object_the_codec_cannot_encode_is_a_downlink_codec_log_event(device: Device) -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    body = command(object={"on": True}, id="1f0c8c1e-3f7b-4d8a-9d8e-2b6f1c1d0e55")
    body.pop("data")
    assert handle_mqtt_command(body, lambda t, m: published.append((t, m))) is None
    ((topic, message),) = published
    check_topic(topic, json.dumps(message))
    assert message["code"] == "DOWNLINK_CODEC"
    assert message["context"] == {"queue_item_id": "1f0c8c1e-3f7b-4d8a-9d8e-2b6f1c1d0e55"}


def test_tx_acks_reach_the_device_the_downlink_was_for(dynamodb: str) -> None:
    from datetime import UTC, datetime, timedelta

    PendingDownlink(
        4242,
        dev_eui=DEV_EUI,
        gateway_id="0016c001ff10a235",
        f_cnt=7,
        queue_item_id="8fd6a5ef-3b56-4e3a-9c2c-7c3b5d0d5b2a",
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
        "queueItemId": "8fd6a5ef-3b56-4e3a-9c2c-7c3b5d0d5b2a",
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
