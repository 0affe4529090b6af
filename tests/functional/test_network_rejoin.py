"""LoRaWAN 1.1 RejoinRequests types 0, 1 and 2 through the pipeline and the real join server on moto.

The reference device cannot build RejoinRequests, so the test builds them from the protocol core
(`RejoinRequest`, `security.rejoin_request_mic`) and opens the JoinAccept as a device would: JSEncKey,
a MIC with JSIntKey over the rejoin type and RJcount, keys derived with RJcount in place of DevNonce
(1.1 §6.2.3, as LoRaMac-node does)."""

from __future__ import annotations

import base64

import pytest

from functions.appserver.models import Device
from functions.lorawan import security
from functions.lorawan.device import EndDevice
from functions.lorawan.device.session import EndDeviceSession
from functions.lorawan.join import JoinAccept, RejoinRequest
from functions.lorawan.keys import join_server_keys, session_keys_1_1
from functions.lorawan.mac_commands import RekeyConf
from functions.lorawan.phypayload import MHDR, MType, PHYPayload
from functions.lorawan.types import AES128Key, NetID
from functions.network.models import DeviceSession, UplinkCollection
from functions.network.uplink import handle_reception
from functions.shared.settings import SETTINGS
from tests.functional.test_network_pipeline import (
    APP_KEY,
    JOIN_EUI,
    NWK_KEY,
    RECEIVED_AT_MS,
    World,
    joined_device,
    reception,
)

DEV_EUI = "0004a30b001c0551"


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


def rejoin_frame(device: EndDevice, rejoin_type: int, rj_count: int, key: AES128Key | None = None) -> bytes:
    if rejoin_type == 1:
        request = RejoinRequest(1, device.dev_eui, rj_count, join_eui=JOIN_EUI)
        key = key or join_server_keys(NWK_KEY, device.dev_eui).js_int_key
    else:
        request = RejoinRequest(rejoin_type, device.dev_eui, rj_count, net_id=NetID.parse("000000"))
        assert device.session is not None
        key = key or device.session.s_nwk_s_int_key
    phy = PHYPayload(MHDR(MType.RejoinRequest), request)
    return phy.with_mic(security.rejoin_request_mic(phy, key)).to_bytes()


def send(world: World, frame: bytes) -> str:
    for item in UplinkCollection.scan():  # each test frame is new to the de-duplication
        item.delete()
    return handle_reception(reception(frame), world.pipeline())


def accept_rejoin(world: World, device: EndDevice, rejoin_type: int, rj_count: int) -> JoinAccept:
    """What the device does with the JoinAccept: open, check, derive the new session."""
    _, frame = world.commands[-1]
    js = join_server_keys(NWK_KEY, device.dev_eui)
    accept, _, valid = security.open_join_accept(
        PHYPayload.from_bytes(base64.b64decode(frame["items"][0]["phyPayload"])),
        encryption_key=js.js_enc_key,
        mic_key=js.js_int_key,
        join_req_type=rejoin_type,
        join_eui=JOIN_EUI,
        dev_nonce=rj_count,
    )
    assert valid and accept.dl_settings.opt_neg
    keys = session_keys_1_1(NWK_KEY, APP_KEY, accept.join_nonce, JOIN_EUI, rj_count)
    device.session = EndDeviceSession.from_1_1(accept.dev_addr, keys)
    device.awaiting_conf = True  # RekeyInd until RekeyConf, as after a join (1.1 §5.10)
    device.rx1_delay = accept.rx1_delay_seconds
    return accept


def uplink_in_new_context(world: World, device: EndDevice) -> None:
    up = device.uplink(2, b"again")
    assert (
        handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline())
        == "uplink"
    )
    _, frame = world.commands[-1]
    received = device.downlink(base64.b64decode(frame["items"][0]["phyPayload"]))
    assert received.mac_commands == [RekeyConf(minor=1)] and not device.awaiting_conf


@pytest.mark.parametrize("rejoin_type", [0, 2])
def test_rejoin_types_0_and_2_give_a_new_session(world: World, rejoin_type: int) -> None:
    device = joined_device(world, "1.1.0", DEV_EUI)
    assert device.session is not None
    old = DeviceSession.get(DEV_EUI)
    assert send(world, rejoin_frame(device, rejoin_type, 0)) == "rejoined"
    _, frame = world.commands[-1]
    # The answer uses the rejoin's own class A windows (the device is activated): RX1 after RECEIVE_DELAY1.
    assert frame["items"][0]["txInfo"]["timing"] == {"delay": {"delay": f"{int(old.rx1_delay)}s"}}
    accept = accept_rejoin(world, device, rejoin_type, 0)
    new = DeviceSession.get(DEV_EUI)
    assert (str(accept.dev_addr) == old.dev_addr) == (rejoin_type == 2)  # type 2 keeps the DevAddr
    assert new.dev_addr == str(accept.dev_addr) and new.f_cnt_up == 0 and new.net_keys != old.net_keys
    assert [e.details for e in world.events if e.type == "join"][-1] == {"rejoinType": rejoin_type}
    uplink_in_new_context(world, device)
    assert world.counts["Rejoins"] == 1


def test_rejoin_type_1_is_checked_by_the_join_server_and_rj_count1_never_goes_back(world: World) -> None:
    device = joined_device(world, "1.1.0", DEV_EUI)
    forged = rejoin_frame(device, 1, 0, key=AES128Key.parse("00" * 16))
    assert send(world, forged) == "mic_failure" and world.counts["MICFailures"] == 1
    assert send(world, rejoin_frame(device, 1, 0)) == "rejoined"
    accept_rejoin(world, device, 1, 0)
    assert DeviceSession.get(DEV_EUI).mac_state.rj_count1_next == 1
    uplink_in_new_context(world, device)
    before = DeviceSession.get(DEV_EUI).serialize()
    assert send(world, rejoin_frame(device, 1, 0)) == "replay"  # RJcount1 0 again
    assert world.counts["Replays"] == 1 and DeviceSession.get(DEV_EUI).serialize() == before
    assert send(world, rejoin_frame(device, 1, 1)) == "rejoined"


def test_rj_count0_replays_and_bad_mics_are_refused(world: World) -> None:
    device = joined_device(world, "1.1.0", DEV_EUI)
    bad = rejoin_frame(device, 0, 0, key=AES128Key.parse("00" * 16))
    assert send(world, bad) == "mic_failure"
    Device(DEV_EUI).update(actions=[Device.enabled.set(False)])  # the join server refuses this one
    assert send(world, rejoin_frame(device, 0, 4)) == "rejoin_rejected"
    Device(DEV_EUI).update(actions=[Device.enabled.set(True)])
    assert send(world, rejoin_frame(device, 0, 4)) == "replay"  # authentic, but RJcount0 4 was seen
    assert send(world, rejoin_frame(device, 0, 5)) == "rejoined"
    assert (world.counts["MICFailures"], world.counts["Replays"], world.counts["RejoinsRejected"]) == (
        1,
        1,
        1,
    )


def test_a_1_0_session_cannot_rejoin(world: World) -> None:
    device = joined_device(world, "1.0.3", "0004a30b001c0550")
    assert send(world, rejoin_frame(device, 0, 0)) == "rejoin_rejected"
    assert SETTINGS.net_id == "000000"


def test_a_rejoin_answer_goes_only_in_the_windows_still_reachable(world: World) -> None:
    """As for a JoinRequest (test_downlink_windows.py): RX1 gone, the JoinAccept goes in RX2 only; both
    gone, nothing changes, the device's session stands and it rejoins again."""
    device = joined_device(world, "1.1.0", DEV_EUI)
    old = DeviceSession.get(DEV_EUI)
    heard_at, margin = RECEIVED_AT_MS / 1000, SETTINGS.downlink_margin_s
    published = len(world.commands)
    world.clock = lambda: heard_at + int(old.rx1_delay) + 1 - margin + 0.1  # RX2 too late as well
    assert send(world, rejoin_frame(device, 2, 0)) == "too_late"
    assert len(world.commands) == published and world.counts["DownlinksTooLate"] == 1
    assert DeviceSession.get(DEV_EUI).serialize() == old.serialize()
    assert [e for e in world.events if e.type == "join" and e.details] == []

    world.clock = lambda: heard_at + int(old.rx1_delay) - margin + 0.1  # RX1 gone, RX2 still reachable
    assert send(world, rejoin_frame(device, 2, 1)) == "rejoined"
    _, frame = world.commands[-1]
    (item,) = frame["items"]
    assert item["txInfo"]["timing"] == {"delay": {"delay": f"{int(old.rx1_delay) + 1}s"}}
    assert world.counts["DownlinksRX2Only"] == 1
    accept_rejoin(world, device, 2, 1)
    world.clock = lambda: heard_at + 0.05
    uplink_in_new_context(world, device)
