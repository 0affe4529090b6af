"""Issue 16: a session that knows its device's queue empty spares the uplink's queue query; every write to
the queue (REST and MQTT enqueue, class C, an item put back as not sent) makes the next uplink query
again, and an enqueue racing an uplink's "known empty" save strands nothing
(functions/network/queue_state.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from functions.appserver import queue
from functions.appserver import service as application_service
from functions.appserver.downlinks import handle_mqtt_command
from functions.appserver.models import Device, DeviceQueueItem
from functions.lorawan.device import EndDevice, EndDeviceSession, abp
from functions.lorawan.keys import SessionKeys10
from functions.lorawan.types import EUI64, AES128Key, DevAddr
from functions.network import queue_state
from functions.network.class_c import send_class_c
from functions.network.models import DeviceSession
from functions.network.transmissions import handle_tx_ack
from functions.network.uplink import handle_reception
from functions.shared import aws
from functions.shared.interface import QueueHead
from functions.shared.settings import SETTINGS
from tests.functional.test_network_pipeline import EU868, World, downlink_payload, joined_device, reception
from tests.support.api import make_tenant, ok
from tests.support.dynamodb_requests import Requests, count_requests

QUEUE_TABLE = DeviceQueueItem.Meta.table_name


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


@pytest.fixture
def queue_requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    """DynamoDB requests (`.of(QUEUE_TABLE)`: to the queue table, by operation)."""
    return count_requests(monkeypatch)


def send(world: World, device: EndDevice, payload: bytes = b"x", *, confirmed: bool = False) -> str:
    up = device.uplink(2, payload, confirmed=confirmed)
    return handle_reception(reception(up.phy_payload), world.pipeline())


def session(dev_eui: str) -> DeviceSession:
    return DeviceSession.get(dev_eui, consistent_read=True)


def carried(world: World, device: EndDevice, sent_before: int) -> tuple[int, bytes] | None:
    """The application payload of the downlink the last uplink got, if it got one."""
    if len(world.commands) == sent_before:
        return None
    received = device.downlink(downlink_payload(world))
    return (received.f_port, received.payload) if received.f_port else None


def test_the_second_uplink_of_a_device_with_an_empty_queue_makes_no_queue_request(
    world: World, queue_requests: Requests
) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    assert not session(eui).queue_empty  # a new session starts as "query"
    queue_requests.clear()
    assert send(world, device) == "uplink"
    assert queue_requests.of(QUEUE_TABLE) == {"Query": 1}
    assert session(eui).queue_empty
    queue_requests.clear()
    assert send(world, device) == "uplink"
    assert send(world, device) == "uplink"
    assert queue_requests.of(QUEUE_TABLE) == {}, "known empty: no request to the queue table"
    assert world.counts["Uplinks"] == 3 and session(eui).queue_empty


def test_an_enqueue_after_known_empty_reaches_the_next_uplink(world: World) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    send(world, device)
    before = session(eui)
    assert before.queue_empty
    queue.enqueue(eui, 10, b"hello")
    after = session(eui)
    assert not after.queue_empty and int(after.version) == int(before.version) + 1
    sent_before = len(world.commands)
    assert send(world, device) == "uplink"
    assert carried(world, device, sent_before) == (10, b"hello")
    assert not session(eui).queue_empty  # sent, awaiting the gateway's TX ack: still in the queue


def enqueue_right_after_the_query(
    monkeypatch: pytest.MonkeyPatch, dev_eui: str, *, defer_notice: list[Callable[[], None]] | None = None
) -> None:
    """The application enqueues while an uplink is between its queue query (which found nothing) and
    its session save. With `defer_notice`, the item is written at once but the network hears of it only
    when the test runs what the list holds (the uplink's save lands between the two writes)."""
    original = application_service.queue_head
    done: list[bool] = []

    def query_then_enqueue(*args: Any, **kwargs: Any) -> QueueHead:
        head = original(*args, **kwargs)
        if not done:
            done.append(True)
            if defer_notice is not None:
                with monkeypatch.context() as inner:
                    inner.setattr(queue_state, "queue_filled", lambda eui: defer_notice.append(
                        lambda: original_filled(eui)))  # fmt: skip
                    queue.enqueue(dev_eui, 12, b"raced")
            else:
                queue.enqueue(dev_eui, 12, b"raced")
        return head

    original_filled = queue_state.queue_filled
    monkeypatch.setattr(application_service, "queue_head", query_then_enqueue)


def test_an_enqueue_between_the_query_and_the_save_makes_the_save_run_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The enqueue's version bump fails the save of "known empty"; the re-run reads the session afresh,
    queries, and the downlink goes with this very uplink."""
    device = joined_device(world)
    eui = str(device.dev_eui)
    enqueue_right_after_the_query(monkeypatch, eui)
    sent_before = len(world.commands)
    assert send(world, device) == "uplink"
    assert world.counts["ConcurrentUpdates"] == 1
    assert carried(world, device, sent_before) == (12, b"raced")
    assert not session(eui).queue_empty


def test_an_enqueue_whose_notice_lands_after_the_save_clears_known_empty(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The item is written after the query, the uplink saves "known empty", then the notice clears it:
    the next uplink queries and carries the item."""
    device = joined_device(world)
    eui = str(device.dev_eui)
    notices: list[Callable[[], None]] = []
    enqueue_right_after_the_query(monkeypatch, eui, defer_notice=notices)
    sent_before = len(world.commands)
    assert send(world, device) == "uplink"
    assert carried(world, device, sent_before) is None and world.counts["ConcurrentUpdates"] == 0
    assert session(eui).queue_empty and len(queue.pending(eui)) == 1  # the moment that needs the notice
    (notice,) = notices
    notice()
    assert not session(eui).queue_empty
    sent_before = len(world.commands)
    assert send(world, device) == "uplink"
    assert carried(world, device, sent_before) == (12, b"raced")


def test_a_confirmed_downlink_awaiting_its_ack_keeps_the_queue_queried_until_the_ack_settles_it(
    world: World, queue_requests: Requests
) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    item_id = queue.enqueue(eui, 5, b"please ack", confirmed=True)
    sent_before = len(world.commands)
    send(world, device)
    assert carried(world, device, sent_before) == (5, b"please ack")  # the device waits to acknowledge
    assert not session(eui).queue_empty, "sent, awaiting the ACK: not empty"
    queue_requests.clear()
    send(world, device)  # carries the ACK
    assert queue_requests.of(QUEUE_TABLE)["Query"] >= 1
    acks = [e.details for e in world.events if e.type == "ack"]
    assert acks == [{"acknowledged": True, "fCntDown": 0, "queueItemId": item_id}]
    assert session(eui).queue_empty  # settled: nothing left
    queue_requests.clear()
    send(world, device)
    assert queue_requests.of(QUEUE_TABLE) == {}


def test_a_confirmed_downlink_within_its_answer_time_is_not_known_empty(world: World) -> None:
    """An uplink without the ACK before the downlink's RX windows closed gives nothing up (the item
    waits): the queue is not known empty, so the next uplink still settles it."""
    device = joined_device(world)
    eui = str(device.dev_eui)
    queue.enqueue(eui, 5, b"please ack", confirmed=True)
    send(world, device)
    downlink_payload(world)  # the device never hears it
    send(world, device)  # early: the item still waits for its answer
    assert not session(eui).queue_empty and len(queue.pending(eui)) == 1


def test_a_payload_too_large_for_the_data_rate_is_not_known_empty(world: World) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    queue.enqueue(eui, 5, bytes(100))
    up = device.uplink(2, b"x")
    handle_reception(reception(up.phy_payload, dr=0), world.pipeline())  # DR0: at most 51 bytes
    assert world.counts["DownlinksTooLarge"] == 1
    assert not session(eui).queue_empty


def test_an_mqtt_command_clears_known_empty(world: World) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    send(world, device)
    assert session(eui).queue_empty
    command = {"devEui": eui, "confirmed": False, "fPort": 9, "data": base64.b64encode(b"mqtt").decode(),
               "topic_application_id": "app-1", "topic_dev_eui": eui}  # fmt: skip
    assert handle_mqtt_command(command, lambda _t, _m: None) is not None
    assert not session(eui).queue_empty
    sent_before = len(world.commands)
    send(world, device)
    assert carried(world, device, sent_before) == (9, b"mqtt")


def test_a_class_c_enqueue_clears_known_empty_before_the_downlink_function_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    Device.get(eui).update(actions=[Device.supports_class_c.set(True)])
    send(world, device)
    assert session(eui).queue_empty
    seen: list[bool] = []

    def downlink_function(function: str, payload: dict[str, Any], *, wait: bool) -> None:
        seen.append(bool(session(payload["dev_eui"]).queue_empty))
        assert send_class_c(payload["dev_eui"], world.publish, world.count) == "sent"

    monkeypatch.setattr(SETTINGS, "downlink_function", "downlink")
    monkeypatch.setattr(aws, "invoke", downlink_function)
    queue.enqueue(eui, 7, b"now")
    assert seen == [False] and world.counts["DownlinksClassC"] == 1
    (item,) = world.commands[-1][1]["items"]
    assert device.downlink(base64.b64decode(item["phyPayload"])).payload == b"now"


def test_an_item_put_back_as_not_sent_clears_known_empty(world: World) -> None:
    """The gateway refused a transmission (TX ack) or the uplink found no window left: the item is back
    in the queue, and the network hears of it."""
    device = joined_device(world)
    eui = str(device.dev_eui)
    item_id = queue.enqueue(eui, 3, b"again")
    sent_before = len(world.commands)
    send(world, device)
    assert carried(world, device, sent_before) == (3, b"again")
    downlink_id = world.commands[-1][1]["downlinkId"]
    # What a later uplink would have written: known empty (the test makes the state directly, since an
    # uplink settles a sent item before it could).
    DeviceSession(eui, version=session(eui).version).update(actions=[DeviceSession.queue_empty.set(True)])
    assert session(eui).queue_empty
    ack = {"gatewayId": "0016c001ff10a235", "downlinkId": downlink_id, "items": [{"status": "TX_FREQ"}]}
    assert handle_tx_ack(ack, world.count, lambda _e: None)["requeued"] is True
    assert not session(eui).queue_empty
    (queued,) = queue.pending(eui)
    assert queued.queue_item_id == item_id and queued.f_cnt is None
    # the uplink's own put-back (no window left, `send_downlink`)
    application_service.mark_sent(eui, queued.item_id, 9)
    DeviceSession(eui, version=session(eui).version).update(actions=[DeviceSession.queue_empty.set(True)])
    assert application_service.not_transmitted(eui, item_id) is True
    assert not session(eui).queue_empty


def test_a_rest_enqueue_clears_known_empty(
    world: World, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(admin_key, "Acme")
    eui = tenant.ids["dev_eui"]
    keys = SessionKeys10(AES128Key(bytes(range(16))), AES128Key(bytes(range(16, 32))))
    abp_keys = {"dev_addr": "26000001", "nwk_s_key": keys.nwk_s_key.hex(), "app_s_key": keys.app_s_key.hex()}
    ok("POST", f"/devices/{eui}/activate", abp_keys, tenant.device_admin, 204)
    assert not session(eui).queue_empty  # ABP activation: a new session starts as "query"
    device = abp(EUI64.parse(eui), EU868, EndDeviceSession.from_1_0(DevAddr.parse("26000001"), keys), seed=1)
    device.rx1_delay = int(session(eui).rx1_delay)
    assert send(world, device) == "uplink"
    assert session(eui).queue_empty
    ok("POST", f"/devices/{eui}/queue", {"f_port": 4, "data": "AQID"}, tenant.device_admin, 201)
    assert not session(eui).queue_empty
    sent_before = len(world.commands)
    assert send(world, device) == "uplink"
    assert carried(world, device, sent_before) == (4, b"\x01\x02\x03")


def test_a_device_without_a_session_gets_none_from_an_enqueue(dynamodb: str) -> None:
    eui = "0004a30b001c05ff"
    Device(eui, application_id="app-1").save()
    queue.enqueue(eui, 1, b"\x01")
    with pytest.raises(DeviceSession.DoesNotExist):
        DeviceSession.get(eui, consistent_read=True)


def test_an_ack_resolved_by_a_run_that_lost_its_save_is_reported_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The uplink carrying the ACK removes the acknowledged item in its queue query; an enqueue before its
    save makes it run again, and the re-run (whose query no longer finds the item) reports the ACK."""
    device = joined_device(world)
    eui = str(device.dev_eui)
    item_id = queue.enqueue(eui, 5, b"please ack", confirmed=True)
    sent_before = len(world.commands)
    send(world, device)
    assert carried(world, device, sent_before) == (5, b"please ack")
    enqueue_right_after_the_query(monkeypatch, eui)
    sent_before = len(world.commands)
    send(world, device)  # carries the ACK
    assert world.counts["ConcurrentUpdates"] == 1
    acks = [e.details for e in world.events if e.type == "ack"]
    assert acks == [{"acknowledged": True, "fCntDown": 0, "queueItemId": item_id}]
    assert carried(world, device, sent_before) == (12, b"raced")


def test_an_item_two_invocations_resolve_is_reported_by_the_one_that_removed_it(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two uplinks of one device both read the acknowledged item before either removed it: only the one
    whose removal holds reports it, so the application hears the ACK once."""
    eui = "0004a30b001c05fe"
    Device(eui, application_id="app-1").save()
    item_id = queue.enqueue(eui, 1, b"\x01", confirmed=True)
    (item,) = queue.pending(eui)
    queue.mark_sent(eui, item.item_id, 3, now=0.0)
    read_by_the_other = list(DeviceQueueItem.query(eui, consistent_read=True))
    first = queue.head(eui, ack=True)
    assert first.acknowledged is not None and first.acknowledged.queue_item_id == item_id
    monkeypatch.setattr(DeviceQueueItem, "query", lambda *_a, **_k: iter(read_by_the_other))
    assert queue.head(eui, ack=True).acknowledged is None


def test_a_join_starts_a_session_that_queries_the_queue(world: World) -> None:
    device = joined_device(world)
    eui = str(device.dev_eui)
    send(world, device)
    assert session(eui).queue_empty
    rejoined = device.join_request()  # the next DevNonce
    assert handle_reception(reception(rejoined.phy_payload), world.pipeline()) == "joined"
    assert not session(eui).queue_empty
