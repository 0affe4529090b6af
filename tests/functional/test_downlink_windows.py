"""Downlinks never leave after their window (issue 15): through the real pipeline, join server and
application server against DynamoDB on moto, with the pipeline's clock placed where each case needs it
relative to the frame's arrival (the rule's timestamp). RX1 missed: the RX2 item alone; both missed:
nothing is published, the queued payload stays queued as not sent, counted and logged, and the
application hears nothing wrong. A JoinAccept that can no longer meet a join window changes nothing.
A gateway's TOO_LATE keeps the payload; a copy of a frame reaching a cold worker after the claim is
counted as late and never processed twice."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator

import pytest

from functions.appserver import queue
from functions.appserver.models import DeviceQueueItem
from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.types import EUI64
from functions.network.models import DeviceSession, PendingDownlink
from functions.network.observability import logger
from functions.network.transmissions import handle_tx_ack
from functions.network.uplink import handle_reception
from functions.shared.settings import SETTINGS
from tests.functional.test_network_pipeline import (
    APP_KEY,
    EU868,
    JOIN_EUI,
    RECEIVED_AT_MS,
    World,
    downlink_payload,
    joined_device,
    provision,
    reception,
)

HEARD_AT = RECEIVED_AT_MS / 1000
MARGIN = SETTINGS.downlink_margin_s
RX1_DELAY = SETTINGS.rx1_delay_s  # what a joined device gets
RX2_FREQUENCY = 869_525_000


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, object]]]]:
    """What the network server's Powertools logger writes during the test."""
    buffer = io.StringIO()
    previous = logger.logger_handler.setStream(buffer)  # type: ignore[attr-defined]
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    logger.logger_handler.setStream(previous)  # type: ignore[attr-defined]


def at(seconds: float) -> Callable[[], float]:
    """A clock `seconds` after the frame reached the cloud."""
    return lambda: HEARD_AT + seconds


def app_events(world: World, kind: str) -> list[dict[str, object]]:
    return [m for t, m in world.app_messages if t.endswith(f"/event/{kind}")]


def queued(dev_eui: str) -> list[DeviceQueueItem]:
    return list(DeviceQueueItem.query(dev_eui, consistent_read=True))


def uplink(world: World, device: EndDevice, payload: bytes = b"u", *, confirmed: bool = False) -> str:
    up = device.uplink(2, payload, confirmed=confirmed)
    return handle_reception(reception(up.phy_payload), world.pipeline())


def test_a_downlink_that_missed_rx1_goes_in_rx2_only(world: World) -> None:
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    item_id = queue.enqueue(dev_eui, 9, b"rx2 please")
    world.clock = at(RX1_DELAY - MARGIN + 0.1)  # too late for RX1, in time for RX2
    assert uplink(world, device) == "uplink"
    _, frame = world.commands[-1]
    (item,) = frame["items"]
    assert item["txInfo"]["frequency"] == RX2_FREQUENCY
    assert item["txInfo"]["timing"] == {"delay": {"delay": f"{RX1_DELAY + 1}s"}}
    received = device.downlink(base64.b64decode(item["phyPayload"]))
    assert (received.f_port, received.payload) == (9, b"rx2 please")
    assert world.counts["DownlinksRX2Only"] == 1 and world.counts["DownlinksTooLate"] == 0
    (sent,) = queued(dev_eui)
    assert sent.f_cnt is not None  # marked sent: it waits for the TX ack
    assert PendingDownlink.get(frame["downlinkId"]).queue_item_id == item_id
    # The gateway sent its one item: that was RX2, and the TX ack counts it so.
    ack = {"gatewayId": frame["gatewayId"], "downlinkId": frame["downlinkId"], "items": [{"status": "OK"}]}
    send = lambda event: world.invoke("network-events", event.to_dict(), wait=False)  # noqa: E731
    assert handle_tx_ack(ack, world.count, send)["window"] == 2
    assert world.counts["DownlinksRX2"] == 1 and world.counts["DownlinksRX1"] == 0
    (txack,) = app_events(world, "txack")
    assert txack["queueItemId"] == item_id and queued(dev_eui) == []


def test_a_downlink_that_can_meet_no_window_stays_queued(
    world: World, log_lines: Callable[[], list[dict[str, object]]]
) -> None:
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    item_id = queue.enqueue(dev_eui, 9, b"next time", confirmed=True)
    a_f_cnt_down = int(DeviceSession.get(dev_eui).a_f_cnt_down)
    published = len(world.commands)
    world.clock = at(RX1_DELAY + 1 - MARGIN + 0.1)  # RX2 too: nothing can go
    assert uplink(world, device, confirmed=True) == "uplink"  # the uplink itself is delivered
    assert len(world.commands) == published
    assert world.counts["DownlinksTooLate"] == 1 and world.counts["Downlinks"] == 0
    (item,) = queued(dev_eui)
    assert item.f_cnt is None and item.sent_at is None  # not marked sent, not removed
    assert int(DeviceSession.get(dev_eui).a_f_cnt_down) == a_f_cnt_down  # no counter used
    assert [m["code"] for m in app_events(world, "log")] == []
    assert app_events(world, "txack") == [] and app_events(world, "ack") == []
    assert len(app_events(world, "up")) == 1
    (line,) = [m for m in log_lines() if str(m["message"]).startswith("downlink due but no receive window")]
    assert line["level"] == "WARNING" and line["dev_eui"] == dev_eui and line["queued"] == 1

    world.clock = at(0.05)  # the next uplink arrives in time: the item goes, with the next counter
    assert uplink(world, device, b"v") == "uplink"
    received = device.downlink(downlink_payload(world))
    assert (received.f_port, received.payload) == (9, b"next time")
    assert device.session is not None and device.session.a_f_cnt_down == a_f_cnt_down + 1  # no gap
    assert queued(dev_eui)[0].f_cnt == a_f_cnt_down
    _, frame = world.commands[-1]
    assert PendingDownlink.get(frame["downlinkId"]).queue_item_id == item_id


def test_a_downlink_built_in_time_but_late_at_the_last_moment_is_not_sent(world: World) -> None:
    """The frame was built (its counter used and saved) but the steps after took the window: nothing is
    published, the item stays queued as not sent, and the next frame's higher counter is accepted."""
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    queue.enqueue(dev_eui, 9, b"again")
    readings = iter([0.05])  # the plan sees the frame fresh; every later reading is past RX2
    world.clock = lambda: HEARD_AT + next(readings, RX1_DELAY + 2)
    published = len(world.commands)
    assert uplink(world, device) == "uplink"
    assert len(world.commands) == published and world.counts["DownlinksTooLate"] == 1
    (item,) = queued(dev_eui)
    assert item.f_cnt is None
    assert list(PendingDownlink.scan()) == []  # nothing recorded for a TX ack that will never come
    used = int(DeviceSession.get(dev_eui).a_f_cnt_down) - 1  # consumed by the frame that never left

    world.clock = at(0.05)
    assert uplink(world, device, b"v") == "uplink"
    received = device.downlink(downlink_payload(world))
    assert received.payload == b"again"
    assert device.session is not None and device.session.a_f_cnt_down == used + 2  # over the gap


def test_a_join_accept_that_missed_rx1_goes_in_rx2_and_the_device_joins(world: World) -> None:
    provision(EUI64.parse("0004a30b001c0540"), "1.0.3")
    device = otaa(EUI64.parse("0004a30b001c0540"), JOIN_EUI, EU868, app_key=APP_KEY, seed=3)
    delay1 = EU868.timing.join_accept_delay1
    world.clock = at(delay1 - MARGIN + 0.1)
    assert handle_reception(reception(device.join_request().phy_payload), world.pipeline()) == "joined"
    _, frame = world.commands[-1]
    (item,) = frame["items"]
    assert item["txInfo"]["frequency"] == RX2_FREQUENCY
    assert item["txInfo"]["timing"] == {"delay": {"delay": f"{delay1 + 1}s"}}
    assert device.accept_join(base64.b64decode(item["phyPayload"]))
    assert world.counts["DownlinksRX2Only"] == 1 and world.counts["Joins"] == 1


@pytest.mark.parametrize("second_check", [False, True], ids=["before the join server", "after it"])
def test_a_join_accept_that_can_meet_no_window_changes_nothing(world: World, second_check: bool) -> None:
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    session = DeviceSession.get(dev_eui)
    asked: list[str] = []
    invoke = world.invoke

    def counting_invoke(function: str, payload: dict[str, object], *, wait: bool) -> object:
        asked.append(function)
        return invoke(function, payload, wait=wait)  # type: ignore[arg-type]

    world.invoke = counting_invoke  # type: ignore[method-assign]
    late = EU868.timing.join_accept_delay2 - MARGIN + 0.1
    readings = iter([0.05] if second_check else [])  # fresh before the join server, late after it
    world.clock = lambda: HEARD_AT + next(readings, late)
    published, joins = len(world.commands), len(app_events(world, "join"))
    assert handle_reception(reception(device.join_request().phy_payload), world.pipeline()) == "too_late"
    assert len(world.commands) == published and world.counts["DownlinksTooLate"] == 1
    assert len(app_events(world, "join")) == joins  # the application hears of no join
    assert asked.count("join-server") == (1 if second_check else 0)
    assert DeviceSession.get(dev_eui).dev_addr == session.dev_addr  # the session the device has stands
    assert DeviceSession.get(dev_eui).version == session.version


@pytest.mark.parametrize(
    "statuses",
    [["TOO_LATE", "TOO_LATE"], ["TOO_LATE"]],
    ids=["RX1 and RX2 too late", "an RX2-only frame too late"],
)
def test_a_too_late_tx_ack_keeps_the_payload(world: World, statuses: list[str]) -> None:
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    item_id = queue.enqueue(dev_eui, 9, b"keep me")
    if len(statuses) == 1:
        world.clock = at(RX1_DELAY - MARGIN + 0.1)
    assert uplink(world, device) == "uplink"
    _, frame = world.commands[-1]
    assert len(frame["items"]) == len(statuses)
    ack = {"gatewayId": frame["gatewayId"], "downlinkId": frame["downlinkId"],
           "items": [{"status": s} for s in statuses]}  # fmt: skip
    send = lambda event: world.invoke("network-events", event.to_dict(), wait=False)  # noqa: E731
    assert handle_tx_ack(ack, world.count, send)["requeued"] is True
    (log,) = app_events(world, "log")
    assert log["code"] == "DOWNLINK_GATEWAY" and log["context"]["queue_item_id"] == item_id  # type: ignore[index]
    assert app_events(world, "txack") == []
    (item,) = queued(dev_eui)
    assert item.f_cnt is None  # back to not sent
    world.clock = at(0.05)
    assert uplink(world, device, b"v") == "uplink"
    received = device.downlink(downlink_payload(world))
    assert (received.f_port, received.payload) == (9, b"keep me")


def test_a_copy_after_the_claim_is_counted_late_logged_and_never_processed_twice(
    world: World, log_lines: Callable[[], list[dict[str, object]]]
) -> None:
    """A copy that reaches a cold worker after the claim cannot join its frame's metadata any more: it is
    counted (`DedupLate`), logged with its gateway, and neither delivered nor answered again."""
    device = joined_device(world)
    up = device.uplink(2, b"once", confirmed=True)
    first = reception(up.phy_payload, gateway="0016c001ff10a235")
    assert handle_reception(first, world.pipeline()) == "uplink"
    session = DeviceSession.get(str(device.dev_eui))
    published = len(world.commands)
    cold = reception(up.phy_payload, gateway="0016c001ff10a240", snr=12.0)  # better heard, but too late
    assert handle_reception(cold, world.pipeline()) == "late"
    assert world.counts["DedupLate"] == 1 and world.counts["DedupDrops"] == 1 and world.counts["Uplinks"] == 1
    (line,) = [m for m in log_lines() if m["message"] == "copy arrived after the frame was processed"]
    assert line["gateway_id"] == "0016c001ff10a240"
    (event,) = app_events(world, "up")
    assert [r["gatewayId"] for r in event["rxInfo"]] == ["0016c001ff10a235"]  # type: ignore[union-attr, index]
    assert len(world.commands) == published  # no second ACK
    assert DeviceSession.get(str(device.dev_eui)).version == session.version


def test_a_queue_item_another_invocation_marked_first_is_not_sent_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two invocations of one device both read the head (the second re-runs after a conflicting session
    write, before the first marked the item): the one whose mark fails sends nothing, so the payload
    reaches the device once, with the first sender's counter."""
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    queue.enqueue(dev_eui, 9, b"once", confirmed=True)
    original = queue.head

    def head_then_taken(*args: object, **kwargs: object) -> object:
        found = original(*args, **kwargs)  # type: ignore[arg-type]
        if found.items:  # the other invocation marks it now, between our read and our mark
            assert queue.mark_sent(dev_eui, found.items[0].item_id, 99)
        return found

    monkeypatch.setattr(queue, "head", head_then_taken)
    published = len(world.commands)
    assert uplink(world, device) == "uplink"  # the uplink itself is delivered
    assert len(world.commands) == published  # nothing of ours left: the other invocation sends it
    assert world.counts["QueueItemsTakenElsewhere"] == 1 and world.counts["Downlinks"] == 0
    (item,) = queued(dev_eui)
    assert item.f_cnt == 99  # the first sender's mark stands
    assert list(PendingDownlink.scan()) == []
    assert len(app_events(world, "up")) == 1 and app_events(world, "ack") == []
