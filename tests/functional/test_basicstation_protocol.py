"""The bridge's Basics Station LNS against an independent client written from the protocol documentation
(Basics Station docs, The LNS Protocol), not from the bridge's code: the `websockets` client library
speaks for the gateway, messages are the documentation's shapes with concrete values, the frames the
bridge rebuilds are read back by lora-packet (npm), and every MQTT message is parsed strictly by
ChirpStack's own protobuf classes. Mosquitto with mutual TLS, real TLS on the LNS (the local CA)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from chirpstack_api import gw
from google.protobuf import json_format
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from functions.bridge.app import BridgeApp
from functions.bridge.basicstation.service import StationService
from localcloud.broker import Mosquitto
from localcloud.dynamodb import free_port
from tests.functional.test_bridge import bridge_config
from tests.oracles import lora_packet
from tests.support.mosquitto import Inbox
from tests.support.station_radio import MemoryDirectory

GATEWAY = "b827ebfffe6c2a51"
GATEWAY_ID6 = "b827:ebff:fe6c:2a51"
TOKEN = "doc-client-token-9a1f"

# Messages in the documentation's shapes (The LNS Protocol: version, Uplink Data Frame, Join Request,
# Proprietary Frame, timesync), with values of a real EU868 frame: 40 f17dbe49 00 0200 01 95437876 2b11ff0d.
VERSION = {"msgtype": "version", "station": "2.0.6(rpi/std)", "firmware": None, "package": "1.0.0",
           "model": "rpi", "protocol": 2, "features": "rmtsh"}  # fmt: skip
UPDF = {
    "msgtype": "updf", "MHdr": 0x40, "DevAddr": 0x49BE7DF1, "FCtrl": 0x00, "FCnt": 2, "FOpts": "",
    "FPort": 1, "FRMPayload": "95437876", "MIC": 0x0DFF112B, "RefTime": 0.0, "DR": 5, "Freq": 868_100_000,
    "upinfo": {"rctx": 0, "xtime": 0x1D00000C3E1A2B, "gpstime": 0, "fts": -1, "rssi": -53, "snr": 9.25,
               "rxtime": 1_764_831_000.25},
}  # fmt: skip
UPDF_PHY = "40f17dbe4900020001954378762b11ff0d"
JREQ = {
    "msgtype": "jreq", "MHdr": 0x00, "JoinEui": "70-B3-D5-7E-D0-00-00-01",
    "DevEui": "00-04-A3-0B-00-1C-05-30",
    "DevNonce": 0x1234, "MIC": -1_430_532_899, "RefTime": 0.0, "DR": 0, "Freq": 868_300_000,
    "upinfo": {"rctx": 1, "xtime": 0x1D00000C4F0000, "gpstime": 1_417_000_000_000_000, "fts": -1,
               "rssi": -110, "snr": -12.5, "rxtime": 0},
}  # fmt: skip
PROPDF = {"msgtype": "propdf", "FRMPayload": "E0010203", "DR": 3, "Freq": 868_500_000,
          "upinfo": {"rctx": 0, "xtime": 0x1D00000C500000, "rssi": -70, "snr": 5.0}}  # fmt: skip


async def start_lns(broker: Mosquitto) -> BridgeApp:
    server = broker.ca.issue("station-lns", server=True, hosts=("localhost", "127.0.0.1"))
    config = bridge_config(broker, station_port=free_port(), station_tls_cert=server.cert_path,
                           station_tls_key=server.key_path)  # fmt: skip
    app = BridgeApp(config)
    app.station = StationService.from_config(
        config, publisher=app.mqtt, metrics=app.metrics, directory=MemoryDirectory({GATEWAY: TOKEN})
    )
    assert app.station is not None
    app.station.lns.on_change = app.bridge.request_announce
    await app.start()
    assert await asyncio.to_thread(app.mqtt.wait_connected, 10)
    return app


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


def client_tls(broker: Mosquitto) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(broker.ca.ca_path))
    # The local CA's certificates carry no Authority Key Identifier, which Python 3.13's strict mode
    # requires (mbedtls, Station's TLS, does not).
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


def counter(app: BridgeApp, name: str) -> int:
    return int(app.metrics.snapshot()["counters"].get(name, 0))


async def session(app: BridgeApp, broker: Mosquitto, token: str = TOKEN) -> ClientConnection:
    uri = f"wss://localhost:{app.config.station_port}/router-{GATEWAY_ID6}"
    return await connect(uri, ssl=client_tls(broker), additional_headers={"Authorization": f"Bearer {token}"})


def strict(message: dict[str, Any], kind: Any) -> Any:
    return json_format.ParseDict(message, kind(), ignore_unknown_fields=False)


async def receive(connection: ClientConnection, msgtype: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(connection.recv(), 10))
        if message.get("msgtype") == msgtype:
            return dict(message)


async def inbox_wait(inbox: Inbox, topic: str, count: int = 1) -> list[Any]:
    return await asyncio.to_thread(inbox.wait, topic, count)


async def until_state(inbox: Inbox, state: str) -> None:
    """The gateway's latest connection state (the broker first replays an earlier test's retained one)."""
    topic = f"eu868/gateway/{GATEWAY}/state/conn"
    for _ in range(100):
        states = [json.loads(p) for _, p in inbox.matching(topic)]
        if states and states[-1] == {"gatewayId": GATEWAY, "state": state}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{state} not published on {topic}")


def test_discovery_refusals_and_replacement(broker: Mosquitto) -> None:
    async def scenario() -> None:
        app = await start_lns(broker)
        base = f"wss://localhost:{app.config.station_port}"
        try:
            async with connect(f"{base}/router-info", ssl=client_tls(broker),
                               additional_headers={"Authorization": f"Bearer {TOKEN}"}) as info:  # fmt: skip
                await info.send(json.dumps({"router": GATEWAY_ID6}))
                answer = json.loads(await info.recv())
            assert answer["router"] == GATEWAY_ID6 and "error" not in answer
            assert answer["uri"] == f"wss://localhost:{app.config.station_port}/router-{GATEWAY_ID6}"
            async with connect(f"{base}/router-info", ssl=client_tls(broker)) as info:
                await info.send(json.dumps({"router": int(GATEWAY, 16)}))  # the integer form
                refused = json.loads(await info.recv())
            assert "error" in refused and "uri" not in refused
            for token, path in (
                ("wrong", f"/router-{GATEWAY_ID6}"),
                (TOKEN, "/router-0:0:0:1"),
                (TOKEN, "/x"),
            ):
                with pytest.raises(InvalidStatus) as status:
                    await connect(f"{base}{path}", ssl=client_tls(broker),
                                  additional_headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                assert status.value.response.status_code in (401, 404)
            assert counter(app, "station_refused_unauthenticated") == 3  # router-info, wrong token, unknown
            assert counter(app, "station_refused_path") == 1
            first = await session(app, broker)
            second = await session(app, broker)
            await asyncio.wait_for(first.wait_closed(), 5)
            assert app.station is not None and app.station.lns.sessions[GATEWAY].connection is not None
            assert counter(app, "station_replaced_connections") == 1
            await second.close()
        finally:
            await app.stop()

    run(scenario)


def test_session_uplinks_downlinks_and_timesync(broker: Mosquitto) -> None:
    inbox = Inbox(broker, f"eu868/gateway/{GATEWAY}/#", "eu868/bridge/+/state/conn")

    async def scenario() -> None:
        app = await start_lns(broker)
        try:
            connection = await session(app, broker)
            await connection.send(json.dumps(VERSION))
            config = await receive(connection, "router_config")
            assert config["region"] == "EU868" and config["hwspec"] == "sx1301/1"
            assert config["freq_range"] == [863_000_000, 870_000_000]
            assert config["DRs"][:7] == [[12, 125, 0], [11, 125, 0], [10, 125, 0], [9, 125, 0], [8, 125, 0],
                                         [7, 125, 0], [7, 250, 0]]  # fmt: skip
            assert config["upchannels"] == [[868_100_000, 0, 5], [868_300_000, 0, 5], [868_500_000, 0, 5]]
            await until_state(inbox, "ONLINE")
            (version_stats,) = await inbox_wait(inbox, f"eu868/gateway/{GATEWAY}/event/stats")
            assert strict(version_stats, gw.GatewayStats).metadata["model"] == "rpi"

            for message in (UPDF, JREQ, PROPDF):
                await connection.send(json.dumps(message))
            frames = [
                strict(f, gw.UplinkFrame)
                for f in await inbox_wait(inbox, f"eu868/gateway/{GATEWAY}/event/up", 3)
            ]
            assert frames[0].phy_payload.hex() == UPDF_PHY
            assert frames[0].tx_info.frequency == 868_100_000
            assert frames[0].tx_info.modulation.lora.spreading_factor == 7
            assert (frames[0].rx_info.rssi, frames[0].rx_info.snr) == (-53, 9.25)
            assert frames[1].tx_info.modulation.lora.spreading_factor == 12
            assert frames[1].rx_info.time_since_gps_epoch.seconds == 1_417_000_000
            assert frames[2].phy_payload.hex() == "e0010203"
            if lora_packet.available():
                updf, jreq = lora_packet.run(
                    [{"op": "decode", "phy": f.phy_payload.hex()} for f in frames[:2]]
                )
                assert updf["ok"]["dev_addr"] == "49be7df1" and updf["ok"]["f_cnt"] == 2
                assert (updf["ok"]["f_port"], updf["ok"]["frm_payload"]) == (1, "95437876")
                assert updf["ok"]["mic"] == "2b11ff0d"
                assert jreq["ok"]["join_eui"] == "70b3d57ed0000001"
                assert jreq["ok"]["dev_eui"] == "0004a30b001c0530"
                assert jreq["ok"]["dev_nonce"] == "1234"
                assert (
                    jreq["ok"]["mic"] == (-1_430_532_899 & 0xFFFFFFFF).to_bytes(4, "little").hex()
                )  # MIC LE on air

            await connection.send(json.dumps({"msgtype": "timesync", "txtime": 123.456}))
            timesync = await receive(connection, "timesync")
            assert timesync["txtime"] == 123.456 and timesync["gpstime"] > 1_400_000_000 * 10**6

            down = gw.DownlinkFrame(downlink_id=777, gateway_id=GATEWAY)
            for frequency, sf, delay in ((868_100_000, 7, 1), (869_525_000, 12, 2)):
                item = down.items.add()
                item.phy_payload = bytes.fromhex("60f17dbe49000300")
                item.tx_info.frequency = frequency
                item.tx_info.modulation.lora.bandwidth = 125_000
                item.tx_info.modulation.lora.spreading_factor = sf
                item.tx_info.context = frames[0].rx_info.context
                item.tx_info.timing.delay.delay.seconds = delay
            inbox.publish(f"eu868/gateway/{GATEWAY}/command/down", json_format.MessageToDict(down))
            dnmsg = await receive(connection, "dnmsg")
            assert (dnmsg["xtime"], dnmsg["rctx"], dnmsg["RxDelay"]) == (UPDF["upinfo"]["xtime"], 0, 1)
            assert (dnmsg["RX1DR"], dnmsg["RX1Freq"], dnmsg["RX2DR"], dnmsg["RX2Freq"]) == (
                5,
                868_100_000,
                0,
                869_525_000,
            )
            assert dnmsg["dC"] == 0 and dnmsg["diid"] == 777 and dnmsg["pdu"] == "60F17DBE49000300"
            await connection.send(json.dumps({"msgtype": "dntxed", "diid": 777, "DR": 0, "Freq": 869_525_000,
                                              "rctx": 0, "xtime": dnmsg["xtime"] + 2_000_000, "txtime": 0,
                                              "gpstime": 0, "DevEui": dnmsg["DevEui"]}))  # fmt: skip
            (ack,) = await inbox_wait(inbox, f"eu868/gateway/{GATEWAY}/event/ack")
            assert [i.status for i in strict(ack, gw.DownlinkTxAck).items] == [
                gw.IGNORED,
                gw.OK,
            ]  # sent in RX2
            # the next stats report: frames per frequency and modulation, downlinks by status
            assert app.station is not None
            app.station.lns._stats_at = -1e9  # its 30 s are up
            app.station.lns.tick()
            _, report = await inbox_wait(inbox, f"eu868/gateway/{GATEWAY}/event/stats", 2)
            stats = strict(report, gw.GatewayStats)
            assert stats.rx_packets_received == 3 and dict(stats.tx_packets_per_status) == {"OK": 1}
            assert dict(stats.rx_packets_per_frequency) == {868_100_000: 1, 868_300_000: 1, 868_500_000: 1}
            per_modulation = stats.rx_packets_per_modulation
            assert sorted((m.modulation.lora.spreading_factor, m.count) for m in per_modulation) == [
                (7, 1), (9, 1), (12, 1)
            ]  # fmt: skip

            # Bad input is counted and the session goes on.
            await connection.send("not json")
            await connection.send(json.dumps(UPDF | {"FOpts": "0102"}))  # FCtrl says no FOpts
            await connection.send(json.dumps(UPDF | {"upinfo": "x"}))
            await connection.send(json.dumps({"msgtype": "nonsense"}))
            await connection.send(json.dumps({"msgtype": "dntxed", "diid": 999}))
            inbox.publish_malformed(f"eu868/gateway/{GATEWAY}/command/down", {"items": "no"})
            await connection.send(json.dumps(UPDF | {"FCnt": 3}))
            await inbox_wait(inbox, f"eu868/gateway/{GATEWAY}/event/up", 4)
            assert counter(app, "station_drop_invalid_json") == 1
            assert counter(app, "station_drop_invalid_field") == 2
            assert counter(app, "station_ignored_msgtype") == 1
            assert counter(app, "station_dntxed_unknown") == 1
            assert counter(app, "station_drop_downlink_invalid") == 1
            await connection.close()
            await until_state(inbox, "OFFLINE")
        finally:
            await app.stop()

    try:
        run(scenario)
    finally:
        inbox.close()
