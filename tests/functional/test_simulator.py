"""The simulator through a real bridge and broker: ABP uplinks a network could verify, and an OTAA join
answered over MQTT the way a network server answers (JoinAccept in a gw.DownlinkFrame, RX1 delay 5 s
shortened to the context's tmst so the test does not wait)."""

from __future__ import annotations

import asyncio
import base64
import json

from chirpstack_api import gw
from google.protobuf import json_format

from functions.lorawan import security
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest
from functions.lorawan.phypayload import PHYPayload
from functions.lorawan.types import AES128Key, DevAddr, NetID
from functions.simulator.fleet import FleetSettings, make_device, run_fleet
from localcloud.broker import Mosquitto
from tests.functional.test_bridge import running
from tests.support.mosquitto import Inbox

APP_KEY = AES128Key.parse("000102030405060708090a0b0c0d0e0f")


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
        accept = JoinAccept(0x000101, NetID.parse("000013"), DevAddr.parse("26012345"), DLSettings(), 1)
        sealed = security.seal_join_accept(accept, encryption_key=APP_KEY, mic_key=APP_KEY)
        downlink = gw.DownlinkFrame(downlink_id=1, gateway_id=frame["rxInfo"]["gatewayId"])
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
