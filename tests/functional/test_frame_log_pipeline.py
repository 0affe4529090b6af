"""The network server's pipeline records what the frame logs and dashboards show, against DynamoDB on
moto with the real join server: a join with its JoinAccept, a data uplink heard by two gateways as one
entry, the downlink with its MAC commands, windows and TX ack, rejected frames with their reasons in the
watched gateways' logs; and an uplink nobody watches makes no frame-log request: its device's counters
ride on its session save, none are written per gateway (a gateway's counters come from its stats
reports)."""

from __future__ import annotations

import threading
import time

import pytest

from functions.appserver.api.watching import watch_device
from functions.network import gateway_registry
from functions.network.models import NETWORK_TABLES, DeviceSession, Gateway, UplinkCollection
from functions.network.transmissions import handle_tx_ack
from functions.network.uplink import handle_reception
from functions.shared import frame_log
from functions.shared.frame_log import device_subject, gateway_subject
from functions.shared.frame_tables import FrameLogItem, MetricsBucket
from tests.functional.test_network_pipeline import World, downlink_payload, joined_device, reception
from tests.support.dynamodb_requests import count_requests

GATEWAY_A, GATEWAY_B = "0016c001ff10a235", "0016c001ff10a236"
NETWORK_TABLE_NAMES = {model.Meta.table_name for model in NETWORK_TABLES}
DEV_EUI = "0004a30b001c0530"


def watch_gateway(gateway_id: str) -> None:
    """As the API's `/gateways/{id}/frames` does; the uplink function reads the flag with the registration
    (remembered up to MEMORY_S by a warm function: forgotten here)."""
    Gateway(gateway_id).update(actions=[Gateway.watch_until.set(int(time.time()) + frame_log.WATCH_S)])
    gateway_registry.forget()


def logged(subject: str) -> list[FrameLogItem]:
    return list(FrameLogItem.query(subject))  # oldest first


def heard_by_two(world: World, phy: bytes) -> list[str]:
    """Both gateways' copies at once, as IoT Core runs them; returns the statuses."""
    results: list[str] = []
    barrier = threading.Barrier(2)

    def run(gateway: str, snr: float) -> None:
        barrier.wait()
        results.append(handle_reception(reception(phy, gateway=gateway, snr=snr), world.pipeline()))

    threads = [threading.Thread(target=run, args=args) for args in ((GATEWAY_A, 2.0), (GATEWAY_B, 8.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_watched_device_and_gateway_see_join_uplink_downlink_and_tx_ack(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(monkeypatch)
    watch_device(DEV_EUI)  # as the API does when its frames or events are read
    watch_gateway(GATEWAY_A)
    device = joined_device(world, dev_eui=DEV_EUI)
    join_request, join_accept = logged(device_subject(DEV_EUI))
    assert (join_request.kind, join_accept.kind) == ("uplink", "downlink")
    assert join_request.body["rx"][0]["gateway_id"] == GATEWAY_A
    assert [w["window"] for w in join_accept.body["windows"]] == ["RX1", "RX2"]
    assert join_accept.body["windows"][0]["delay"] == "5s"

    up = device.uplink(2, b"x", confirmed=True, link_check=True)
    assert heard_by_two(world, up.phy_payload) == ["duplicate", "uplink"]
    uplink, downlink = logged(device_subject(DEV_EUI))[2:]
    assert sorted(r["gateway_id"] for r in uplink.body["rx"]) == [GATEWAY_A, GATEWAY_B]  # one entry
    assert uplink.body["f_cnt"] == 0 and uplink.body["mac_commands"] == "02"  # LinkCheckReq, as read
    assert downlink.body["gateway_id"] == GATEWAY_B  # the better link
    assert downlink.body["mac_commands"].startswith("02")  # LinkCheckAns
    assert bytes.fromhex(downlink.body["phy_payload"]) == downlink_payload(world)
    device.downlink(downlink_payload(world))

    tx_ack = {"gatewayId": GATEWAY_B, "downlinkId": downlink.body["downlink_id"], "items": [{"status": "OK"}]}
    handle_tx_ack(tx_ack, lambda _name: None, lambda _event: None)
    ack = logged(device_subject(DEV_EUI))[-1]
    assert ack.kind == "tx_ack" and ack.body == {
        "downlink_id": downlink.body["downlink_id"], "gateway_id": GATEWAY_B, "status": "OK", "window": "RX1"
    }  # fmt: skip
    # gateway A (watched) logged what it heard; B is not watched: nothing written for it
    assert [i.kind for i in logged(gateway_subject(GATEWAY_A))] == ["uplink", "downlink", "uplink"]
    assert logged(gateway_subject(GATEWAY_B)) == []
    assert MetricsBucket.count(gateway_subject(GATEWAY_B)) == 0
    # once B is watched, its TX acks show in its log too (the TX ack function reads its flag)
    watch_gateway(GATEWAY_B)
    handle_tx_ack(tx_ack, lambda _name: None, lambda _event: None)
    assert [i.kind for i in logged(gateway_subject(GATEWAY_B))] == ["tx_ack"]


def test_rejected_frames_are_in_the_gateways_log_with_their_reason(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(monkeypatch)
    device = joined_device(world, dev_eui=DEV_EUI)
    assert device.session is not None
    watch_gateway(GATEWAY_A)
    watch_device(DEV_EUI)  # as the API does when its frames or events are read
    assert handle_reception(reception(device.uplink(2, b"a").phy_payload), world.pipeline()) == "uplink"
    device.session.f_cnt_up = 0
    assert handle_reception(reception(device.uplink(2, b"b").phy_payload), world.pipeline()) == "replay"
    forged = bytearray(device.uplink(2, b"c").phy_payload)
    forged[-1] ^= 0xFF
    assert handle_reception(reception(bytes(forged)), world.pipeline()) == "mic_failure"
    assert handle_reception(reception(b"\x40\x01"), world.pipeline()) == "invalid_frame"
    rejected = [i for i in logged(gateway_subject(GATEWAY_A)) if i.kind == "rejected"]
    assert [i.body["reason"] for i in rejected] == ["replay", "mic_failure", "invalid_frame"]
    assert rejected[0].body["dev_eui"] == DEV_EUI and "dev_eui" not in rejected[1].body
    assert [i.body["reason"] for i in logged(device_subject(DEV_EUI)) if i.kind == "rejected"] == ["replay"]
    assert MetricsBucket.count(gateway_subject(GATEWAY_A)) == 0  # logged while watched, not counted


def test_an_uplink_nobody_watches_makes_no_frame_log_request_and_none_per_gateway(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its device's counters ride on the session save (functions/network/uplink/hour.py); whether anyone
    watches is the session's flag. Every DynamoDB request of the uplink, by table, for the record."""
    world = World(monkeypatch)
    device = joined_device(world, dev_eui=DEV_EUI)
    assert heard_by_two(world, device.uplink(2, b"w").phy_payload) == ["duplicate", "uplink"]
    calls = count_requests(monkeypatch)
    assert heard_by_two(world, device.uplink(2, b"x").phy_payload) == ["duplicate", "uplink"]
    tables = {FrameLogItem.Meta.table_name, MetricsBucket.Meta.table_name}
    assert {key: n for key, n in calls.items() if key[0] in tables} == {}  # nothing per device or gateway
    network = {key: n for key, n in calls.items() if key[0] in NETWORK_TABLE_NAMES}
    assert network == {
        (UplinkCollection.Meta.table_name, "UpdateItem"): 3,  # created, the other copy added, claimed
        (DeviceSession.Meta.table_name, "Query"): 1,  # the sessions of its DevAddr
        (DeviceSession.Meta.table_name, "PutItem"): 1,  # the conditional save, with this hour's counters
    }
    assert FrameLogItem.count(device_subject(DEV_EUI)) == 0


def test_a_rejoin_and_its_join_accept_are_logged_and_a_refused_one_with_its_reason(
    dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.functional.test_network_rejoin import rejoin_frame, send

    world = World(monkeypatch)
    world.window_s = 0.0
    device = joined_device(world, "1.1.0", DEV_EUI)
    watch_device(DEV_EUI)  # as the API does when its frames or events are read
    assert send(world, rejoin_frame(device, 0, 0)) == "rejoined"
    request, accept = logged(device_subject(DEV_EUI))
    assert (request.kind, accept.kind) == ("uplink", "downlink")
    assert bytes.fromhex(accept.body["phy_payload"]) == downlink_payload(world)
    # the device did not take the JoinAccept: its old SNwkSIntKey no longer verifies
    assert send(world, rejoin_frame(device, 0, 1)) == "mic_failure"
    assert logged(device_subject(DEV_EUI))[-1].body["reason"] == "mic_failure"
