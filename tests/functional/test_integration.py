"""Uplinks to applications through the application server's event handler, against DynamoDB on moto:
payloads decrypted with the session's AppSKey, decoded by the profile's codec (CayenneLPP, JavaScript),
a broken codec giving a log event while the uplink still goes out, the webhook handed every event, the
event log and last-seen kept."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from functions.appserver import eventlog
from functions.appserver.integration import handle_network_event
from functions.appserver.models import Application, Device, DeviceProfile
from functions.lorawan import crypto
from functions.lorawan.types import AES128Key, DevAddr
from functions.shared import envelope
from functions.shared.interface import NetworkEvent
from tests.support.chirpstack import check_integration_event, check_topic

APP_S_KEY = AES128Key.parse("ec925802ae430ca77fd3dd73cb2cc588")
DEV_ADDR = "26011bda"
DEV_EUI = "0004a30b001c0530"
JS_CODEC = """
function decodeUplink(input) {
  return { data: { celsius: ((input.bytes[0] << 8) | input.bytes[1]) / 10, port: input.fPort } };
}
"""
BROKEN_CODEC = "function decodeUplink(input) { throw new Error('sensor table missing'); }"


class Sink:
    """What the application server publishes and hands to the webhook, each checked strictly as sent."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.webhooks: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        assert check_topic(topic, json.dumps(message)) is not None
        self.published.append((topic, message))

    def dispatch(self, application_id: str, kind: str, body: dict[str, Any]) -> None:
        check_integration_event(kind, json.dumps(body))
        self.webhooks.append((application_id, kind, body))


def provision(kind: str, script: str = "", *, webhook: bool = False) -> None:
    Application("a" * 32, org_id="o" * 32, name="meters",
                http_integration={"url": "http://127.0.0.1:9/hook"} if webhook else {}).save()  # fmt: skip
    DeviceProfile("p" * 32, org_id="o" * 32, name="sensor", codec_kind=kind, codec_script=script).save()
    sealed = envelope.seal({"app_s_key": APP_S_KEY.hex()}, context=DEV_EUI)
    Device(DEV_EUI, application_id="a" * 32, org_id="o" * 32, device_profile_id="p" * 32, name="roof",
           app_s_key=sealed).save()  # fmt: skip


def uplink(payload: bytes, f_port: int = 1, f_cnt: int = 7) -> NetworkEvent:
    encrypted = crypto.encrypt_frm_payload(APP_S_KEY, crypto.UPLINK, DevAddr.parse(DEV_ADDR), f_cnt, payload)
    return NetworkEvent("up", DEV_EUI, "2026-11-24T12:00:00Z", dev_addr=DEV_ADDR, f_cnt=f_cnt, f_port=f_port,
                        frm_payload=encrypted.hex(), dr=5, deduplication_id="d1")  # fmt: skip


def test_cayenne_lpp_uplink_is_decrypted_and_decoded(dynamodb: str) -> None:
    provision("cayenne_lpp", webhook=True)
    sink = Sink()
    topic = handle_network_event(uplink(bytes.fromhex("03670110056700ff")), sink.publish, sink.dispatch)
    assert topic == f"application/{'a' * 32}/device/{DEV_EUI}/event/up"
    ((_, message),) = sink.published
    assert message["data"] == "A2cBEAVnAP8="
    assert message["object"] == {"temperatureSensor": {"3": 27.2, "5": 25.5}}
    assert message["deviceInfo"] == {
        "tenantId": "o" * 32, "applicationId": "a" * 32, "applicationName": "meters",
        "deviceProfileId": "p" * 32, "deviceProfileName": "sensor", "deviceName": "roof", "devEui": DEV_EUI,
    }  # fmt: skip
    assert sink.webhooks == [("a" * 32, "up", message)]
    (logged,) = eventlog.recent(eventlog.device_subject(DEV_EUI))
    assert logged["type"] == "up" and logged["body"]["object"] == message["object"]
    # last seen is carried by the network's session write (SessionView.last_seen_at), not written here
    assert Device.get(DEV_EUI).last_seen_at is None


def test_javascript_codec(dynamodb: str) -> None:
    provision("javascript", JS_CODEC)
    sink = Sink()
    handle_network_event(uplink(bytes([0x01, 0x10]), f_port=9), sink.publish, sink.dispatch)
    ((_, message),) = sink.published
    assert message["object"] == {"celsius": 27.2, "port": 9}
    assert sink.webhooks == []  # no webhook configured


@pytest.mark.parametrize("script", [BROKEN_CODEC, "while (true) {}", "function decodeUplink( {"])
def test_a_broken_codec_gives_a_log_event_and_the_uplink_still_goes_out(dynamodb: str, script: str) -> None:
    provision("javascript", script)
    sink = Sink()
    handle_network_event(uplink(b"\x01\x02"), sink.publish, sink.dispatch)
    (up_topic, up), (log_topic, log) = sink.published
    assert up_topic.endswith("/event/up") and up["data"] == "AQI=" and "object" not in up
    assert log_topic.endswith("/event/log") and log["level"] == "ERROR" and log["code"] == "UPLINK_CODEC"
    assert log["context"] == {"deduplication_id": "d1"}
    assert log["description"]
    kinds = [e["type"] for e in eventlog.recent(eventlog.device_subject(DEV_EUI))]
    assert sorted(kinds) == ["log", "up"]


def test_an_event_for_an_unknown_device_is_dropped(dynamodb: str) -> None:
    sink = Sink()
    assert handle_network_event(uplink(b"\x01"), sink.publish, sink.dispatch) is None
    assert sink.published == [] and sink.webhooks == []


def test_an_event_for_a_device_deleted_meanwhile_does_not_bring_it_back(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision("none")
    real_get = Device.get

    def get_then_delete(key: str, *args: Any, **kwargs: Any) -> Device:
        item = real_get(key, *args, **kwargs)
        item.delete()  # the API deletes the device while its event is in flight
        return item

    monkeypatch.setattr(Device, "get", staticmethod(get_then_delete))
    sink = Sink()
    handle_network_event(uplink(b"\x01"), sink.publish, sink.dispatch)
    assert len(sink.published) == 1  # the event still goes out once
    assert Device.count() == 0  # and last-seen did not recreate a stub device


def test_an_oversized_decoded_object_gives_the_uplink_without_it_and_a_log_event(dynamodb: str) -> None:
    """Issue 15: a 3 MB decoded object lost the uplink (event-log item too large, three failures, dead
    letter; no up event, no log event)."""
    provision("javascript", 'function decodeUplink(i) { return {data: {blob: "x".repeat(3000000)}}; }')
    sink = Sink()
    handle_network_event(uplink(b"\x01\x02"), sink.publish, sink.dispatch)
    (up_topic, up), (log_topic, log) = sink.published
    assert up_topic.endswith("/event/up") and up["data"] == "AQI=" and "object" not in up
    assert (
        log_topic.endswith("/event/log") and log["level"] == "ERROR" and "3000011 bytes" in log["description"]
    )
    kinds = [e["type"] for e in eventlog.recent(eventlog.device_subject(DEV_EUI))]
    assert sorted(kinds) == ["log", "up"]


def test_an_event_log_body_too_large_for_an_item_is_kept_as_a_note(dynamodb: str) -> None:
    eventlog.record("device#0004a30b001c0530", "up", {"object": {"blob": "y" * 500_000}})
    (kept,) = eventlog.recent("device#0004a30b001c0530")
    assert "too large" in kept["body"]["omitted"]


@pytest.mark.parametrize(
    ("battery", "expected"),
    [
        (0, {"externalPowerSource": True, "batteryLevelUnavailable": False, "batteryLevel": 0.0}),
        (255, {"externalPowerSource": False, "batteryLevelUnavailable": True, "batteryLevel": 0.0}),
        (254, {"externalPowerSource": False, "batteryLevelUnavailable": False, "batteryLevel": 100.0}),
        (127, {"externalPowerSource": False, "batteryLevelUnavailable": False, "batteryLevel": 50.0}),
        (1, {"externalPowerSource": False, "batteryLevelUnavailable": False, "batteryLevel": 0.39}),
    ],
)
def test_device_status_battery_is_mapped_as_chirpstack_maps_it(
    dynamodb: str, battery: int, expected: dict[str, Any]
) -> None:
    """LoRaWAN 1.0.4 §5.5 DevStatusAns: 0 = external power, 255 = cannot measure, 1..254 = level."""
    provision("none", webhook=True)
    sink = Sink()
    status = NetworkEvent("status", DEV_EUI, "2026-11-24T12:00:00Z", deduplication_id="d2",
                          details={"battery": battery, "margin": -3})  # fmt: skip
    handle_network_event(status, sink.publish, sink.dispatch)
    ((topic, message),) = sink.published
    assert topic.endswith("/event/status") and message["margin"] == -3 and message["deduplicationId"] == "d2"
    assert {k: message[k] for k in expected} == expected


def test_acks_carry_the_queue_item_and_the_uplink_that_acknowledged(dynamodb: str) -> None:
    provision("none")
    sink = Sink()
    ack = NetworkEvent("ack", DEV_EUI, "2026-11-24T12:00:00Z", deduplication_id="d3",
                       details={"acknowledged": True, "fCntDown": 4, "queueItemId": "q-1"})  # fmt: skip
    handle_network_event(ack, sink.publish, sink.dispatch)
    ((_, message),) = sink.published
    assert (message["queueItemId"], message["deduplicationId"], message["fCntDown"]) == ("q-1", "d3", 4)
    assert message["acknowledged"] is True


def test_a_sent_downlink_is_a_txack_and_a_refused_one_a_downlink_gateway_log(dynamodb: str) -> None:
    provision("none")
    sink = Sink()
    details = {"downlinkId": 77, "gatewayId": "0016c001ff10a235", "fCntDown": 4, "queueItemId": "q-1"}
    for status in ("OK", "TOO_LATE"):
        event = NetworkEvent("txack", DEV_EUI, "2026-11-24T12:00:00Z", details=details | {"status": status})
        handle_network_event(event, sink.publish, sink.dispatch)
    (sent_topic, sent), (log_topic, refused) = sink.published
    assert sent_topic.endswith("/event/txack") and log_topic.endswith("/event/log")
    assert sent == {"downlinkId": 77, "time": "2026-11-24T12:00:00Z", "deviceInfo": sent["deviceInfo"],
                    "queueItemId": "q-1", "fCntDown": 4, "gatewayId": "0016c001ff10a235"}  # fmt: skip
    assert (refused["code"], refused["level"]) == ("DOWNLINK_GATEWAY", "ERROR")
    context = {"downlink_id": "77", "gateway_id": "0016c001ff10a235", "queue_item_id": "q-1"}
    assert refused["context"] == context
    assert "TOO_LATE" in refused["description"]


def test_a_warm_function_reads_application_and_profile_once_per_memory_and_its_device_every_time(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Application and profile are remembered READ_MEMORY_S (an edit reaches events within it); the device,
    whose AppSKey a join changes, is read for every event."""
    from pynamodb.connection import base as pynamodb_base

    from functions.appserver import integration

    provision("cayenne_lpp")
    reads: list[str] = []
    original = pynamodb_base.Connection._make_api_call

    def counting(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        if operation_name == "GetItem":
            reads.append(operation_kwargs["TableName"])
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(pynamodb_base.Connection, "_make_api_call", counting)
    clock = [1000.0]
    monkeypatch.setattr(integration.time, "monotonic", lambda: clock[0])
    tables = [Device.Meta.table_name, Application.Meta.table_name, DeviceProfile.Meta.table_name]
    sink = Sink()
    handle_network_event(uplink(bytes.fromhex("03670110"), f_cnt=1), sink.publish, sink.dispatch)
    assert reads == tables
    reads.clear()
    DeviceProfile("p" * 32, org_id="o" * 32, name="sensor", codec_kind="none").save()  # an edit
    handle_network_event(uplink(bytes.fromhex("03670110"), f_cnt=2), sink.publish, sink.dispatch)
    assert reads == [Device.Meta.table_name] and "object" in sink.published[-1][1]  # still remembered
    reads.clear()
    clock[0] += integration.READ_MEMORY_S
    handle_network_event(uplink(bytes.fromhex("03670110"), f_cnt=3), sink.publish, sink.dispatch)
    assert reads == tables and "object" not in sink.published[-1][1]  # the edit has reached the events


def test_an_event_nobody_watches_is_published_and_handed_to_the_webhook_but_not_logged(dynamodb: str) -> None:
    provision("cayenne_lpp", webhook=True)
    sink = Sink()
    unwatched = replace(uplink(bytes.fromhex("03670110"), f_cnt=1), watched=False)
    handle_network_event(unwatched, sink.publish, sink.dispatch)
    assert len(sink.published) == 1 and len(sink.webhooks) == 1
    assert eventlog.recent(eventlog.device_subject(DEV_EUI)) == []
    handle_network_event(uplink(bytes.fromhex("03670110"), f_cnt=2), sink.publish, sink.dispatch)
    (logged,) = eventlog.recent(eventlog.device_subject(DEV_EUI))
    assert logged["body"]["fCnt"] == 2
