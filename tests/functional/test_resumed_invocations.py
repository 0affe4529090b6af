"""An uplink invocation that claimed its frame and died (a timeout, a crash, a killed worker) is retried by
the platform with the same event (Lambda's asynchronous retries; the local runtime's too). Nothing may be
lost and nothing applied twice: the retry resumes the frame under the same deduplication id, applies it
if the first attempt had not, and otherwise only sends what the first attempt may not have sent."""

from __future__ import annotations

from typing import Any

import pytest

from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.types import EUI64
from functions.network.models import DeviceSession
from functions.network.receptions import Reception
from functions.network.uplink import handle_reception, record
from tests.functional.test_network_pipeline import (
    APP_KEY,
    EU868,
    JOIN_EUI,
    World,
    joined_device,
    provision,
    reception,
)


class Died(Exception):
    """The invocation ends here (the platform sees an error and retries the same event)."""


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


def uplink(device: EndDevice, payload: bytes) -> Reception:
    up = device.uplink(2, payload)
    return reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate)


def ups(world: World) -> list[tuple[int, str | None]]:
    return [(e.f_cnt or 0, e.deduplication_id) for e in world.events if e.type == "up"]


def session_of(device: EndDevice) -> DeviceSession:
    return DeviceSession.get(str(device.dev_eui), consistent_read=True)


def test_a_claimer_that_died_before_saving_is_retried_and_the_frame_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = joined_device(world)
    frame = uplink(device, b"\x01")
    save = DeviceSession.save

    def die(self: DeviceSession, *args: Any, **kwargs: Any) -> Any:
        raise Died

    monkeypatch.setattr(DeviceSession, "save", die)
    with pytest.raises(Died):
        handle_reception(frame, world.pipeline())
    assert ups(world) == []
    monkeypatch.setattr(DeviceSession, "save", save)
    assert handle_reception(frame, world.pipeline()) == "uplink"  # the retry, same event
    (event,) = ups(world)
    assert world.counts["ResumedFrames"] == 1 and world.counts["DedupLate"] == 0
    assert int(session_of(device).f_cnt_up) == event[0] + 1


def test_a_claimer_that_died_after_saving_sends_its_events_on_retry_without_applying_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = joined_device(world)
    frame = uplink(device, b"\x02")
    record_uplink = record.record_uplink

    def die(**_kwargs: Any) -> bool:
        raise Died

    monkeypatch.setattr(record, "record_uplink", die)  # the frame log, after the save, before the events
    with pytest.raises(Died):
        handle_reception(frame, world.pipeline())
    applied = session_of(device)
    assert ups(world) == []  # the session saved, the events not sent: lost without a resume
    monkeypatch.setattr(record, "record_uplink", record_uplink)
    assert handle_reception(frame, world.pipeline()) == "resumed"
    ((f_cnt, deduplication_id),) = ups(world)
    assert deduplication_id == applied.last_deduplication_id
    after = session_of(device)
    assert (int(after.f_cnt_up), int(after.version)) == (int(applied.f_cnt_up), int(applied.version))
    assert f_cnt == int(after.f_cnt_up) - 1
    assert world.counts["ResumedAfterSave"] == 1


def test_the_same_payload_in_another_gateway_message_is_never_resumed(world: World) -> None:
    """A replay or another gateway's copy comes in another message, with another uplink id: only the
    claimer's own event resumes a frame. Another gateway's copy is late; the same gateway's is the device
    sending the frame again, which the counter check refuses."""
    device = joined_device(world)
    frame = uplink(device, b"\x03")
    assert handle_reception(frame, world.pipeline()) == "uplink"
    other_gateway = reception(frame.phy_payload, gateway="0016c001ff10a299", frequency=frame.frequency,
                              dr=frame.data_rate)  # fmt: skip
    same_gateway = reception(frame.phy_payload, frequency=frame.frequency, dr=frame.data_rate)
    assert same_gateway.uplink_id != frame.uplink_id
    assert handle_reception(other_gateway, world.pipeline()) == "late"
    assert handle_reception(same_gateway, world.pipeline()) == "replay"
    assert len(ups(world)) == 1 and world.counts["ResumedFrames"] == 0


def test_a_retry_after_success_sends_the_same_event_again_and_applies_nothing(world: World) -> None:
    """The platform may deliver an event again after it succeeded (Lambda's async invocations are at least
    once): the application sees the `up` again under the same deduplication id, the session is untouched."""
    device = joined_device(world)
    frame = uplink(device, b"\x04")
    assert handle_reception(frame, world.pipeline()) == "uplink"
    before = session_of(device)
    assert handle_reception(frame, world.pipeline()) == "resumed"
    first, again = ups(world)
    assert first == again
    assert int(session_of(device).version) == int(before.version)


def test_a_join_claimer_that_died_after_storing_the_session_sends_its_join_event_on_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the resume, the retry asked the join server again, which refused the used DevNonce: the
    session stood but the application never heard of the join."""
    eui = EUI64.parse("0004a30b001c0531")
    provision(eui, "1.0.3")
    device = otaa(eui, JOIN_EUI, EU868, app_key=APP_KEY, lorawan_version="1.0.3", seed=2)
    request = reception(device.join_request().phy_payload)
    record_uplink = record.record_uplink

    def die(**_kwargs: Any) -> bool:
        raise Died

    monkeypatch.setattr(record, "record_uplink", die)
    with pytest.raises(Died):
        handle_reception(request, world.pipeline())
    stored = session_of(device)
    monkeypatch.setattr(record, "record_uplink", record_uplink)
    assert handle_reception(request, world.pipeline()) == "resumed"
    (join,) = [e for e in world.events if e.type == "join"]
    assert join.dev_addr == stored.dev_addr and join.deduplication_id == stored.last_deduplication_id
    assert int(session_of(device).version) == int(stored.version)
    assert world.counts["JoinsRejected"] == 0
