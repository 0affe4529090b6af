"""The network server's uplink pipeline against DynamoDB on moto server, with the real join server and
reference devices from the protocol core: OTAA joins (1.0.3 and 1.1), uplinks, ACKs, MAC answers,
three gateways de-duplicated under concurrency, replays and forged frames rejected."""

from __future__ import annotations

import base64
import json
import random
import threading
from collections import Counter
from typing import Any

import pytest

from functions.appserver.integration import handle_network_event
from functions.appserver.join_server import handle_join
from functions.appserver.models import Device
from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.mac_commands import LinkCheckAns, RekeyConf
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.network.models import DeviceSession, UplinkCollection
from functions.network.receptions import Reception
from functions.network.uplink import Ports, handle_reception
from functions.shared import envelope
from functions.shared.interface import JoinReq, NetworkEvent, network_server
from functions.shared.settings import SETTINGS
from tests.support.chirpstack import check_topic

APP_KEY = AES128Key.parse("2b7e151628aed2a6abf7158809cf4f3c")
NWK_KEY = AES128Key.parse("000102030405060708090a0b0c0d0e0f")
JOIN_EUI = EUI64.parse("70b3d57ed0000001")
EU868 = get_region("EU868")
RECEIVED_AT_MS = 1_700_000_000_000  # the rule's timestamp on every reception of these tests


def just_after_reception() -> float:
    """The pipeline's clock in these tests: 50 ms after the frames arrived, so every RX window is still
    reachable however slowly the test runs (tests of missed windows move it, test_downlink_windows.py)."""
    return RECEIVED_AT_MS / 1000 + 0.05


class World:
    """The network's outside: published gateway commands, events for the application server."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[str] = Counter()
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.events: list[NetworkEvent] = []
        self.app_messages: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.window_s = 0.3  # the de-duplication window; tests of one gateway may set 0
        self.last_downlink: tuple[str, dict[str, Any]] | None = None
        self.clock = just_after_reception
        monkeypatch.setattr(SETTINGS, "join_server_function", "join-server")
        monkeypatch.setattr(SETTINGS, "network_events_function", "network-events")
        # These tests are about what follows the gateway check (test_unknown_gateways.py covers it).
        monkeypatch.setattr(SETTINGS, "allow_unknown_gateways", True)

    def invoke(self, function: str, payload: dict[str, Any], *, wait: bool) -> dict[str, Any] | None:
        if function == "join-server":
            return handle_join(JoinReq.from_dict(payload)).to_dict()
        self.deliver(NetworkEvent.from_dict(payload))  # the NetworkEvents function (TX acks, class C)
        return None

    def deliver(self, event: NetworkEvent) -> None:
        """The application server's delivery, as the uplink function runs it (`Ports.deliver`); the event
        goes through its dict form, as a Lambda payload would."""
        event = NetworkEvent.from_dict(event.to_dict())
        with self.lock:
            self.events.append(event)
        handle_network_event(event, self._to_application)

    def _to_application(self, topic: str, message: dict[str, Any]) -> None:
        check_topic(topic, json.dumps(message))  # what applications get parses strictly as ChirpStack's
        self.app_messages.append((topic, message))

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        with self.lock:
            self.commands.append((topic, message))

    def pipeline(self) -> Ports:
        return Ports(
            count=self.count,
            publish=self.publish,
            invoke=self.invoke,
            window_s=self.window_s,
            clock=self.clock,
            deliver=self.deliver,
        )

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1


def provision(dev_eui: EUI64, mac_version: str) -> None:
    keys = {"app_key": APP_KEY.hex()} | ({"nwk_key": NWK_KEY.hex()} if mac_version.startswith("1.1") else {})
    Device(
        str(dev_eui),
        join_eui=str(JOIN_EUI),
        application_id="app-1",
        name="sensor",
        mac_version=mac_version,
        root_keys=envelope.seal(keys, context=str(dev_eui)),
    ).save()


def reception(
    frame: bytes,
    *,
    gateway: str = "0016c001ff10a235",
    snr: float = 7.0,
    frequency: int = 868_100_000,
    dr: int = 5,
    uplink_id: int | None = None,
    topic_prefix: str = "eu868",
    rx_info: dict[str, Any] | None = None,
) -> Reception:
    tmst = random.randrange(1 << 32)
    context = base64.b64encode(tmst.to_bytes(4, "big")).decode()
    rx_info = {"gatewayId": gateway, "rssi": -60, "snr": snr, "context": context} | (rx_info or {})
    return Reception(
        frame,
        gateway,
        topic_prefix,
        uplink_id or random.randrange(1 << 32),
        frequency,
        dr,
        -60,
        snr,
        context,
        RECEIVED_AT_MS,
        rx_info,
        {"frequency": frequency},
    )


def downlink_payload(world: World, index: int = -1) -> bytes:
    _, frame = world.commands[index]
    return base64.b64decode(frame["items"][0]["phyPayload"])


def joined_device(world: World, mac_version: str = "1.0.3", dev_eui: str = "0004a30b001c0530") -> EndDevice:
    eui = EUI64.parse(dev_eui)
    provision(eui, mac_version)
    device = otaa(
        eui,
        JOIN_EUI,
        EU868,
        app_key=APP_KEY,
        nwk_key=NWK_KEY if mac_version.startswith("1.1") else None,
        lorawan_version=mac_version,
        seed=1,
    )
    request = device.join_request()
    assert handle_reception(reception(request.phy_payload), world.pipeline()) == "joined"
    topic, frame = world.commands[-1]
    assert topic == "eu868/gateway/0016c001ff10a235/command/down"
    assert frame["items"][0]["txInfo"]["timing"] == {"delay": {"delay": "5s"}}  # JOIN_ACCEPT_DELAY1
    assert frame["items"][1]["txInfo"]["frequency"] == 869_525_000
    assert device.accept_join(downlink_payload(world))
    return device


def test_otaa_1_0_3_join_then_uplinks_reach_the_application_decrypted(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(monkeypatch)
    device = joined_device(world)
    assert device.session is not None and device.rx1_delay == SETTINGS.rx1_delay_s
    session = DeviceSession.get(str(device.dev_eui))
    assert session.dev_addr == str(device.session.dev_addr)
    assert b"AppKey" not in session.net_keys and APP_KEY.value not in session.net_keys
    up = device.uplink(2, b"\x01\x67\x00\xe1")
    assert handle_reception(reception(up.phy_payload), world.pipeline()) == "uplink"
    assert [e.type for e in world.events] == ["join", "up"]
    topic, message = world.app_messages[-1]
    assert topic == f"application/app-1/device/{device.dev_eui}/event/up"
    assert base64.b64decode(message["data"]) == b"\x01\x67\x00\xe1"
    assert (message["fCnt"], message["fPort"]) == (0, 2)
    assert DeviceSession.get(str(device.dev_eui)).f_cnt_up == 1
    assert world.counts["Joins"] == 1 and world.counts["Uplinks"] == 1


def test_a_confirmed_uplink_is_acknowledged_and_link_check_answered(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(monkeypatch)
    device = joined_device(world)
    up = device.uplink(2, b"x", confirmed=True, link_check=True)
    assert handle_reception(reception(up.phy_payload, snr=4.0, dr=5), world.pipeline()) == "uplink"
    received = device.downlink(downlink_payload(world))
    assert received.ack is True
    assert device.link_check == (11, 1)  # SNR 4 dB above SF7's -7.5 dB floor
    assert isinstance(received.mac_commands[0], LinkCheckAns)


def test_otaa_1_1_join_and_rekey(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(monkeypatch)
    device = joined_device(world, "1.1.0", "0004a30b001c0531")
    assert device.session is not None and device.session.lorawan_1_1
    up = device.uplink(2, b"hi")
    assert (
        handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline())
        == "uplink"
    )
    received = device.downlink(downlink_payload(world))
    assert received.mac_commands == [RekeyConf(minor=1)]
    assert device.awaiting_conf is False


def test_a_dev_nonce_is_never_accepted_twice(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(monkeypatch)
    device = joined_device(world)
    device.dev_nonce = 0  # replay the first JoinRequest (the same bytes)
    again = device.join_request()
    assert handle_reception(reception(again.phy_payload), world.pipeline()) == "late"  # within the dedup TTL
    for item in UplinkCollection.scan():  # once the collection has expired, the join server refuses it
        item.delete()
    assert handle_reception(reception(again.phy_payload), world.pipeline()) == "join_rejected"
    assert world.counts["JoinsRejected"] == 1


def test_three_gateways_concurrently_make_one_uplink(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(monkeypatch)
    device = joined_device(world)
    up = device.uplink(3, b"three")
    gateways = ["0016c001ff10a235", "0016c001ff10a236", "0016c001ff10a237"]
    results: list[str] = []
    barrier = threading.Barrier(3)

    def run(gateway: str, snr: float) -> None:
        barrier.wait()
        results.append(
            handle_reception(reception(up.phy_payload, gateway=gateway, snr=snr), world.pipeline())
        )

    threads = [
        threading.Thread(target=run, args=(g, s)) for g, s in zip(gateways, (1.0, 9.0, 5.0), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["duplicate", "duplicate", "uplink"]
    (event,) = [e for e in world.events if e.type == "up"]
    assert sorted(r["gatewayId"] for r in event.rx_info) == gateways
    # A late copy after the claim is counted and dropped.
    assert handle_reception(reception(up.phy_payload, gateway="0016c001ff10a238"), world.pipeline()) == "late"
    assert world.counts["Uplinks"] == 1 and world.counts["DedupDrops"] == 3


def test_replays_and_forged_frames_change_nothing(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(monkeypatch)
    device = joined_device(world)
    assert device.session is not None
    assert handle_reception(reception(device.uplink(2, b"a").phy_payload), world.pipeline()) == "uplink"
    device.session.f_cnt_up = 0  # an attacker replays counter 0 with other content
    replayed = device.uplink(2, b"b")
    assert handle_reception(reception(replayed.phy_payload), world.pipeline()) == "replay"
    forged = bytearray(device.uplink(2, b"c").phy_payload)
    forged[-1] ^= 0xFF
    assert handle_reception(reception(bytes(forged)), world.pipeline()) == "mic_failure"
    assert handle_reception(reception(b"\x40\x01"), world.pipeline()) == "invalid_frame"
    stored = DeviceSession.get(str(device.dev_eui))
    assert stored.f_cnt_up == 1
    seen = network_server().sessions([str(device.dev_eui)])[str(device.dev_eui)].last_seen_at
    assert seen is not None and seen >= int(stored.joined_at_ms) // 1000 - 1  # the accepted uplink's write
    assert (
        world.counts["Replays"] == 1
        and world.counts["MICFailures"] == 1
        and world.counts["InvalidFrames"] == 1
    )


def test_queued_downlinks_go_out_in_order_with_f_pending_and_confirmed_ones_are_acknowledged(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.appserver import queue

    world = World(monkeypatch)
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    first = queue.enqueue(dev_eui, 10, b"first", confirmed=True)
    queue.enqueue(dev_eui, 11, b"second")
    assert handle_reception(reception(device.uplink(2, b"u1").phy_payload), world.pipeline()) == "uplink"
    received = device.downlink(downlink_payload(world))
    assert (received.f_port, received.payload, received.confirmed, received.f_pending) == (
        10,
        b"first",
        True,
        True,
    )
    # The device acknowledges in its next uplink: the item goes, the ACK is reported, the next is sent.
    assert handle_reception(reception(device.uplink(2, b"u2").phy_payload), world.pipeline()) == "uplink"
    acks = [e.details for e in world.events if e.type == "ack"]
    assert acks == [{"acknowledged": True, "fCntDown": 0, "queueItemId": first}]
    received = device.downlink(downlink_payload(world))
    assert (received.f_port, received.payload, received.confirmed, received.f_pending) == (
        11,
        b"second",
        False,
        False,
    )
    assert queue.head(dev_eui, ack=False).items == []  # "second" went (no TX ack here: the uplink settles it)
    assert world.app_messages[-1][0].endswith("/event/ack") or any(
        t.endswith("/event/ack") for t, _ in world.app_messages
    )


def test_an_unacknowledged_confirmed_downlink_is_given_up_and_the_queue_moves_on(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ChirpStack v4: one transmission; the next uplink without an ACK gives it up (`ack`, false) and the
    next item goes, instead of sending it again forever with new counters."""
    from functions.appserver import queue

    world = World(monkeypatch)
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    lost_id = queue.enqueue(dev_eui, 5, b"please ack", confirmed=True)
    queue.enqueue(dev_eui, 6, b"next")
    handle_reception(reception(device.uplink(2, b"a").phy_payload), world.pipeline())
    downlink_payload(world)  # the device never hears this one
    # An uplink before the downlink's RX windows closed could not have carried the ACK: nothing is given up.
    early = device.uplink(2, b"early")
    handle_reception(reception(early.phy_payload), world.pipeline())
    assert [e for e in world.events if e.type == "ack"] == []
    from functions.appserver.models import DeviceQueueItem

    for item in DeviceQueueItem.query(dev_eui):  # the RX windows have passed
        if item.sent_at is not None:
            item.update(actions=[DeviceQueueItem.sent_at.set(float(item.sent_at) - 10)])
    handle_reception(reception(device.uplink(2, b"b").phy_payload), world.pipeline())
    following = device.downlink(downlink_payload(world))
    assert (following.f_port, following.payload) == (6, b"next")
    acks = [e.details for e in world.events if e.type == "ack"]
    assert acks == [{"acknowledged": False, "fCntDown": 0, "queueItemId": lost_id}]
    assert world.counts["DownlinksUnacknowledged"] == 1
    message = next(m for t, m in world.app_messages if t.endswith("/event/ack"))
    assert message["acknowledged"] is False and message["queueItemId"] == lost_id


def test_a_payload_too_large_for_the_data_rate_stays_queued_and_is_counted(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.appserver import queue

    world = World(monkeypatch)
    device = joined_device(world)
    queue.enqueue(str(device.dev_eui), 5, bytes(100))
    up = device.uplink(2, b"x")
    handle_reception(reception(up.phy_payload, dr=0), world.pipeline())  # DR0: at most 51 bytes
    assert world.counts["DownlinksTooLarge"] == 1
    with pytest.raises(queue.QueueError):
        queue.enqueue(str(device.dev_eui), 0, b"x")
    with pytest.raises(queue.QueueError):
        queue.enqueue("ffffffffffffffff", 1, b"x")


def test_a_class_c_downlink_goes_out_at_once_through_the_last_gateway(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.appserver import queue
    from functions.network.class_c import send_class_c

    world = World(monkeypatch)
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    handle_reception(
        reception(device.uplink(2, b"hi").phy_payload, gateway="0016c001ff10a236"), world.pipeline()
    )
    assert send_class_c(dev_eui, world.publish, world.count) == "not_class_c"
    stored = Device.get(dev_eui)
    stored.update(actions=[Device.supports_class_c.set(True)])
    assert send_class_c(dev_eui, world.publish, world.count) == "nothing_to_send"
    queue.enqueue(dev_eui, 7, b"now")
    assert send_class_c(dev_eui, world.publish, world.count) == "sent"
    topic, frame = world.commands[-1]
    assert topic == "eu868/gateway/0016c001ff10a236/command/down"
    (item,) = frame["items"]
    assert item["txInfo"]["timing"] == {"immediately": {}} and item["txInfo"]["frequency"] == 869_525_000
    received = device.downlink(base64.b64decode(item["phyPayload"]))
    assert (received.f_port, received.payload) == (7, b"now")
    assert world.counts["DownlinksClassC"] == 1
    assert [i.payload for i in queue.pending(dev_eui)] == [b"now"]  # sent; it goes with the gateway's TX ack
    from functions.network.transmissions import handle_tx_ack

    ack = {"gatewayId": "0016c001ff10a236", "downlinkId": frame["downlinkId"], "items": [{"status": "OK"}]}
    handle_tx_ack(ack, world.count, lambda e: world.invoke("network-events", e.to_dict(), wait=False))
    assert queue.pending(dev_eui) == []
    (txack,) = [m for t, m in world.app_messages if t.endswith("/event/txack")]
    assert txack["fCntDown"] == 0 and txack["queueItemId"]


def test_an_uplink_event_says_whether_someone_watches_the_device(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's watch flag goes with the `up` event: the application server keeps the event in the
    device's log only while someone watches (functions/shared/frame_log.py)."""
    from functions.appserver.api.watching import watch_device

    world = World(monkeypatch)
    device = joined_device(world)
    assert handle_reception(reception(device.uplink(2, b"a").phy_payload), world.pipeline()) == "uplink"
    watch_device(str(device.dev_eui))  # as the API does when its frames or events are read
    assert handle_reception(reception(device.uplink(2, b"b").phy_payload), world.pipeline()) == "uplink"
    assert [e.watched for e in world.events if e.type == "up"] == [False, True]
