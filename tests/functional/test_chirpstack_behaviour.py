"""The network's behaviour as ChirpStack v4 documents it, through the real pipeline and application
server against DynamoDB on moto (every application message is checked strictly by the World): a device's
frame sent again and an old counter become `log` events; a transmission the gateway refused keeps its item
and becomes a DOWNLINK_GATEWAY `log`; an expired item an EXPIRED `log`; a profile may flush the queue on
(re)join; frames from gateways nobody registered are refused unless the deployment allows them."""

from __future__ import annotations

import pytest

from functions.appserver import queue
from functions.appserver.mac_settings import apply_profile
from functions.appserver.models import Device, DeviceProfile
from functions.network import gateway_registry
from functions.network.models import Gateway, UplinkCollection
from functions.network.transmissions import handle_tx_ack
from functions.network.uplink import handle_reception
from functions.shared.settings import SETTINGS
from tests.functional.test_network_pipeline import EU868, World, downlink_payload, joined_device, reception


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


def logs(world: World) -> list[dict[str, object]]:
    return [m for t, m in world.app_messages if t.endswith("/event/log")]


def test_a_frame_sent_again_and_an_old_counter_are_log_events(world: World) -> None:
    device = joined_device(world)
    first = device.uplink(1, b"a")
    assert handle_reception(reception(first.phy_payload), world.pipeline()) == "uplink"
    # The same gateway hears the same frame again (NbTrans, or the device missed our ACK).
    again = reception(first.phy_payload)
    assert handle_reception(again, world.pipeline()) == "replay"
    assert handle_reception(reception(first.phy_payload, gateway="0016c001ff10a299"), world.pipeline()) in (
        "duplicate", "late",
    )  # another gateway's copy of that retransmission: reported once  # fmt: skip
    second = device.uplink(1, b"b")
    assert handle_reception(reception(second.phy_payload), world.pipeline()) == "uplink"
    third = device.uplink(1, b"c")
    assert handle_reception(reception(third.phy_payload), world.pipeline()) == "uplink"
    # An old frame with a valid MIC: a replay (or a device that reset its counters).
    assert handle_reception(reception(first.phy_payload, uplink_id=7), world.pipeline()) == "replay"
    codes = [(m["code"], m["context"]["f_cnt"]) for m in logs(world)]  # type: ignore[index]
    assert codes == [("UPLINK_F_CNT_RETRANSMISSION", "0"), ("UPLINK_F_CNT_RESET", "0")]
    assert world.counts["Retransmissions"] == 2 and world.counts["Replays"] == 2


def test_a_transmission_the_gateway_refused_keeps_the_item_for_the_next_uplink(world: World) -> None:
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    item_id = queue.enqueue(dev_eui, 9, b"keep me")
    assert handle_reception(reception(device.uplink(1, b"a").phy_payload), world.pipeline()) == "uplink"
    _, frame = world.commands[-1]
    refused = {"gatewayId": "0016c001ff10a235", "downlinkId": frame["downlinkId"],
               "items": [{"status": "TOO_LATE"}, {"status": "TX_FREQ"}]}  # fmt: skip
    send = lambda event: world.invoke("network-events", event.to_dict(), wait=False)  # noqa: E731
    assert handle_tx_ack(refused, world.count, send)["requeued"] is True
    (log,) = logs(world)
    assert log["code"] == "DOWNLINK_GATEWAY" and log["context"]["queue_item_id"] == item_id  # type: ignore[index]
    assert not [t for t, _ in world.app_messages if t.endswith("/event/txack")]
    assert handle_reception(reception(device.uplink(1, b"b").phy_payload), world.pipeline()) == "uplink"
    received = device.downlink(downlink_payload(world))
    assert (received.f_port, received.payload) == (9, b"keep me")
    _, frame = world.commands[-1]
    sent = {"gatewayId": "0016c001ff10a235", "downlinkId": frame["downlinkId"],
            "items": [{"status": "OK"}]}  # fmt: skip
    handle_tx_ack(sent, world.count, send)
    (txack,) = [m for t, m in world.app_messages if t.endswith("/event/txack")]
    assert txack["queueItemId"] == item_id and queue.pending(dev_eui) == []


def test_an_expired_item_is_reported_and_a_profile_may_flush_the_queue_on_join(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    item_id = queue.enqueue(dev_eui, 3, b"late", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    import time

    time.sleep(1.1)
    assert handle_reception(reception(device.uplink(1, b"a").phy_payload), world.pipeline()) == "uplink"
    (log,) = logs(world)
    assert log["code"] == "EXPIRED" and log["context"] == {"queue_item_id": item_id}

    profile = DeviceProfile("p" * 32, org_id="o" * 32, name="flush", flush_queue_on_activate=True)
    profile.save()
    apply_profile(profile, [Device.get(dev_eui)], EU868)  # what the API does when a profile changes
    queue.enqueue(dev_eui, 4, b"for the old session")
    assert handle_reception(reception(device.join_request().phy_payload), world.pipeline()) == "joined"
    assert queue.pending(dev_eui) == []


def test_frames_from_unregistered_gateways_are_refused_unless_allowed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = joined_device(world)  # joined while unknown gateways are allowed (the World allows them)
    monkeypatch.setattr(SETTINGS, "allow_unknown_gateways", False)
    monkeypatch.setattr(gateway_registry, "_known", {})
    up = device.uplink(1, b"a")
    assert handle_reception(reception(up.phy_payload, gateway="00000000000000aa"), world.pipeline()) == (
        "unknown_gateway"
    )
    assert world.counts["UnknownGateways"] == 1 and list(UplinkCollection.scan()) != []  # join's only
    Gateway("00000000000000bb", org_id="o" * 32).save()  # registered through the API
    assert (
        handle_reception(reception(up.phy_payload, gateway="00000000000000bb"), world.pipeline()) == "uplink"
    )
    Gateway("00000000000000aa").save()  # heard (stats, state), not registered: still refused
    monkeypatch.setattr(gateway_registry, "_known", {})
    nxt = device.uplink(1, b"b")
    assert handle_reception(reception(nxt.phy_payload, gateway="00000000000000aa"), world.pipeline()) == (
        "unknown_gateway"
    )
