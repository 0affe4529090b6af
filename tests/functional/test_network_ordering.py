"""Ordering without loss and without weakening replay protection (issue 15): an uplink overtaken by a newer
one (Lambda's asynchronous invocations and retries give no order) is accepted once, late, through the
session's anti-replay window; a counter seen before, or older than the window, is still a replay; the MAC
and ADR state stay right when the older frame is processed after the newer one."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from functions.lorawan.device import EndDevice
from functions.lorawan.fcnt import REPLAY_WINDOW
from functions.lorawan.mac_commands import DutyCycleReq
from functions.network import mac_requests
from functions.network.models import DeviceSession, UplinkCollection
from functions.network.uplink import handle_reception
from tests.functional.test_network_pipeline import World, downlink_payload, joined_device, reception


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


def frame(device: EndDevice, payload: bytes, **kwargs: Any) -> tuple[bytes, int, int]:
    up = device.uplink(2, payload, **kwargs)
    return up.phy_payload, up.frequency, up.data_rate


def send(world: World, sent: tuple[bytes, int, int]) -> str:
    phy, frequency, dr = sent
    return handle_reception(reception(phy, frequency=frequency, dr=dr), world.pipeline())


def session_of(device: EndDevice) -> DeviceSession:
    return DeviceSession.get(str(device.dev_eui), consistent_read=True)


def delivered(world: World) -> list[bytes]:
    return [
        base64.b64decode(message["data"])
        for topic, message in world.app_messages
        if topic.endswith("/event/up")
    ]


def test_an_overtaken_uplink_is_delivered_once_and_its_replay_refused(world: World) -> None:
    device = joined_device(world)
    first, second, third = (frame(device, bytes([n])) for n in (1, 2, 3))
    assert send(world, first) == "uplink"
    assert send(world, third) == "uplink"
    assert send(world, second) == "uplink"  # overtaken by the third, still delivered
    assert delivered(world) == [b"\x01", b"\x03", b"\x02"]
    assert send(world, second) in ("late", "replay")  # the same frame again: never delivered twice
    for item in UplinkCollection.scan():
        item.delete()  # once de-duplication forgot it, the window refuses it
    assert send(world, second) == "replay" and send(world, first) == "replay"
    assert delivered(world) == [b"\x01", b"\x03", b"\x02"]
    assert int(session_of(device).f_cnt_up) == 3
    assert world.counts["LateUplinks"] == 1


def test_a_frame_older_than_the_window_is_a_replay(world: World) -> None:
    device = joined_device(world)
    old = frame(device, b"old")
    device.session.f_cnt_up += REPLAY_WINDOW  # type: ignore[union-attr]
    assert send(world, frame(device, b"new")) == "uplink"
    assert send(world, old) == "replay"
    assert delivered(world) == [b"new"]


def test_a_late_frame_gets_no_downlink_and_does_not_count_requests_as_unanswered(world: World) -> None:
    device = joined_device(world)
    mac_requests.request(str(device.dev_eui), max_duty_cycle=2)
    earlier = frame(device, b"a", confirmed=True)
    assert send(world, frame(device, b"b")) == "uplink"  # the request goes out after the newer frame
    assert session_of(device).pending_mac["DutyCycleReq"]["attempts"] == 1
    before = len(world.commands)
    assert send(world, earlier) == "uplink"  # its RX windows closed before the newer frame was sent
    assert len(world.commands) == before
    assert session_of(device).pending_mac["DutyCycleReq"]["attempts"] == 1
    assert device.downlink(downlink_payload(world)).mac_commands == [DutyCycleReq(max_duty_cycle=2)]
    assert send(world, frame(device, b"c")) == "uplink"  # the answer applies as usual
    assert session_of(device).mac_state.applied.max_duty_cycle == 2


def test_a_late_frame_leaves_the_adr_history_and_data_rate_to_the_newer_frames(world: World) -> None:
    device = joined_device(world)
    earlier = frame(device, b"a")
    assert send(world, frame(device, b"b")) == "uplink"
    session = session_of(device)
    history, dr = list(session.uplink_history), int(session.dr)
    phy, frequency, _ = earlier
    assert handle_reception(reception(phy, frequency=frequency, dr=0), world.pipeline()) == "uplink"
    session = session_of(device)
    assert [int(h.f_cnt) for h in session.uplink_history] == [int(h.f_cnt) for h in history]
    assert int(session.dr) == dr


def test_two_frames_of_one_device_processed_at_once_are_both_delivered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = joined_device(world)
    first, second = frame(device, b"1"), frame(device, b"2")
    save = DeviceSession.save
    rival: list[str] = []

    def save_after_a_rival(self: DeviceSession, *args: Any, **kwargs: Any) -> Any:
        if not rival:  # another invocation saves this device's session first
            rival.append("running")
            rival[0] = send(world, second)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(DeviceSession, "save", save_after_a_rival)
    assert send(world, first) == "uplink"
    assert rival == ["uplink"]
    assert sorted(delivered(world)) == [b"1", b"2"]
    assert world.counts["ConcurrentUpdates"] == 1
