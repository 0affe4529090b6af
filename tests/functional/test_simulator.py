"""The simulator through a real bridge and broker: ABP uplinks a network could verify, and an OTAA join
answered over MQTT the way a network server answers (JoinAccept in a gw.DownlinkFrame, RX1 delay 5 s
shortened to the context's tmst so the test does not wait)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from chirpstack_api import gw
from google.protobuf import json_format

from functions.lorawan import security
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.phypayload import PHYPayload
from functions.lorawan.types import AES128Key, DevAddr, NetID
from functions.simulator.fleet import FleetSettings, make_device, run_fleet
from localcloud.broker import Mosquitto
from tests.functional.test_bridge import running
from tests.support.mosquitto import Inbox

APP_KEY = AES128Key.parse("000102030405060708090a0b0c0d0e0f")
JOIN_NONCE, NET_ID = 0x000101, NetID.parse("000013")


def test_abp_devices_send_uplinks_a_network_can_verify(broker: Mosquitto) -> None:
    inbox = Inbox(broker, "eu868/gateway/+/event/up")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        settings = FleetSettings(bridge=app.udp_address, gateways=2, devices_per_gateway=2, interval_s=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(run_fleet(settings, stop))
        frames = await asyncio.get_running_loop().run_in_executor(
            None, inbox.wait, "eu868/gateway/+/event/up", 8
        )
        stop.set()
        counts = await task
        assert counts["uplinks"] >= 8
        sessions = {str(s.dev_addr): s for s in (make_device(settings, i).session for i in range(4)) if s}
        for frame in frames:
            phy = PHYPayload.from_bytes(base64.b64decode(frame["phyPayload"]))
            mac = phy.mac_payload
            session = sessions[str(mac.fhdr.dev_addr)]
            assert security.data_mic_1_0(phy, session.nwk_s_key, mac.fhdr.f_cnt) == phy.mic
            assert security.decrypt_frm_payload(phy, session.app_s_key, mac.fhdr.f_cnt) == b"\x01\x67\x00\xe1"
        await app.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        inbox.close()


def test_an_otaa_device_joins_through_the_bridge(broker: Mosquitto) -> None:
    inbox = Inbox(broker, "eu868/gateway/+/event/up", "eu868/gateway/+/event/ack")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        settings = FleetSettings(bridge=app.udp_address, otaa=True, app_key=APP_KEY, interval_s=0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(run_fleet(settings, stop))
        loop = asyncio.get_running_loop()
        (frame,) = await loop.run_in_executor(None, inbox.wait, "eu868/gateway/+/event/up", 1)
        request_phy = PHYPayload.from_bytes(base64.b64decode(frame["phyPayload"]))
        request = request_phy.payload
        assert isinstance(request, JoinRequest)
        security.verify(security.join_request_mic(request_phy, APP_KEY), request_phy.mic)
        _answer(inbox, frame, request, DevAddr.parse("26012345"))
        (ack,) = await loop.run_in_executor(None, inbox.wait, "eu868/gateway/+/event/ack", 1)
        assert ack["items"] == [{"status": "OK"}]
        # The device takes the JoinAccept and its next uplink comes from the new address.
        await loop.run_in_executor(None, inbox.wait, "eu868/gateway/+/event/up", 3, 15)
        data = [
            PHYPayload.from_bytes(base64.b64decode(json.loads(p)["phyPayload"]))
            for _, p in inbox.matching("eu868/gateway/+/event/up")
        ]
        assert any(p.m_type.is_data and str(p.mac_payload.fhdr.dev_addr) == "26012345" for p in data)
        stop.set()
        counts = await task
        assert counts["downlinks"] == 1
        await app.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        inbox.close()


def _answer(inbox: Inbox, frame: dict[str, Any], request: JoinRequest, dev_addr: DevAddr) -> None:
    """What a network server does: a JoinAccept in a gw.DownlinkFrame, in the first join-accept window."""
    accept = JoinAccept(JOIN_NONCE, NET_ID, dev_addr, DLSettings(), 1)
    sealed = security.seal_join_accept(accept, encryption_key=APP_KEY, mic_key=APP_KEY)
    downlink = gw.DownlinkFrame(downlink_id=request.dev_nonce + 1, gateway_id=frame["rxInfo"]["gatewayId"])
    item = downlink.items.add()
    item.phy_payload = sealed.to_bytes()
    item.tx_info.frequency = frame["txInfo"]["frequency"]
    item.tx_info.power = 14
    item.tx_info.modulation.lora.bandwidth = 125000
    item.tx_info.modulation.lora.spreading_factor = 12
    item.tx_info.modulation.lora.polarization_inversion = True
    item.tx_info.context = base64.b64decode(frame["rxInfo"]["context"])
    item.tx_info.timing.delay.delay.seconds = 5
    topic = f"eu868/gateway/{frame['rxInfo']['gatewayId']}/command/down"
    inbox.session.publish(topic, json.dumps(json_format.MessageToDict(downlink)).encode())


def _join_requests(inbox: Inbox) -> list[tuple[dict[str, Any], JoinRequest]]:
    found = []
    for _, payload in inbox.matching("eu868/gateway/+/event/up"):
        frame = json.loads(payload)
        phy = PHYPayload.from_bytes(base64.b64decode(frame["phyPayload"]))
        if isinstance(phy.payload, JoinRequest):
            found.append((frame, phy.payload))
    return found


def test_two_devices_sharing_an_app_key_each_take_only_their_own_join_accept(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """With one AppKey, either device could open the other's JoinAccept; only the one whose JoinRequest
    it answers takes it. Neither sends a second JoinRequest while it waits for the answer, and
    the DevNonces go on from the state file."""
    inbox = Inbox(broker, "eu868/gateway/+/event/up", "eu868/gateway/+/event/ack")
    state = tmp_path / "state.json"
    devices = ["70b3d57ed0000000", "70b3d57ed0000001"]
    state.write_text(json.dumps({"dev_nonce": {devices[0]: 100, devices[1]: 200}}))

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        settings = FleetSettings(bridge=app.udp_address, devices_per_gateway=2, otaa=True, app_key=APP_KEY,
                                 interval_s=0.5, state_file=state)  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(run_fleet(settings, stop))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, inbox.wait, "eu868/gateway/+/event/up", 2)
        await asyncio.sleep(2.0)  # four more ticks of the fleet: both devices still wait for an answer
        requests = _join_requests(inbox)
        assert sorted((str(r.dev_eui), r.dev_nonce) for _, r in requests) == [
            (devices[0], 100),
            (devices[1], 200),
        ]
        frame, request = next((f, r) for f, r in requests if r.dev_nonce == 200)
        _answer(inbox, frame, request, DevAddr.parse("26012345"))
        await loop.run_in_executor(None, inbox.wait, "eu868/gateway/+/event/ack", 1)
        # device 1's next uplink comes from the new address, signed with the keys of ITS DevNonce
        keys = session_keys_1_0(APP_KEY, JOIN_NONCE, NET_ID, 200)
        data: list[PHYPayload] = []
        for _ in range(100):
            data = [
                phy
                for _, p in inbox.matching("eu868/gateway/+/event/up")
                if (
                    phy := PHYPayload.from_bytes(base64.b64decode(json.loads(p)["phyPayload"]))
                ).m_type.is_data
            ]
            if data:
                break
            await asyncio.sleep(0.1)
        (first, *_) = data
        assert str(first.mac_payload.fhdr.dev_addr) == "26012345"
        f_cnt = first.mac_payload.fhdr.f_cnt
        assert security.data_mic_1_0(first, keys.nwk_s_key, f_cnt) == first.mic
        stop.set()
        counts = await task
        assert counts["joined"] == 1
        await app.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        inbox.close()
    kept = json.loads(state.read_text())["dev_nonce"]
    assert kept[devices[1]] == 201 and kept[devices[0]] >= 101
