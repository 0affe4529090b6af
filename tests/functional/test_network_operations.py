"""Operations of the network server through its Lambda handlers on moto: bad input is counted, logged
and never raised (an exception would make the platform retry) and leaves the session as it was; log
lines carry the device and gateway and never a key; TX ack errors put a confirmed downlink back in the
queue and steer the next downlink away from a gateway that was too late; offline gateways are skipped."""

from __future__ import annotations

import base64
import io
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.appserver import queue
from functions.lorawan.device import EndDevice
from functions.lorawan.keys import join_server_keys
from functions.network import gateways
from functions.network.handlers import tx_ack as tx_ack_handler
from functions.network.handlers import uplink as uplink_handler
from functions.network.models import DeviceSession, Gateway, UplinkCollection
from functions.network.observability import logger
from functions.network.receptions import parse_uplink
from functions.network.scheduling import TOO_LATE_KEY
from functions.network.uplink import Ports, handle_reception
from tests.functional.test_network_pipeline import APP_KEY, NWK_KEY, RECEIVED_AT_MS, World, joined_device

GATEWAY = "0016c001ff10a235"


@dataclass
class LambdaContext:
    function_name: str = "Uplink"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:000000000000:function:Uplink"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything the network server's Powertools logger writes."""
    buffer = io.StringIO()
    previous = logger.logger_handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    logger.logger_handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    monkeypatch.setattr(
        uplink_handler,
        "Ports",
        lambda count: Ports(
            count=count, publish=w.publish, invoke=w.invoke, window_s=0.0, clock=w.clock, deliver=w.deliver
        ),
    )
    original = uplink_handler._count

    def count(name: str) -> None:
        w.count(name)
        original(name)

    monkeypatch.setattr(uplink_handler, "_count", count)
    monkeypatch.setattr(uplink_handler.metrics, "namespace", "Loraless")
    monkeypatch.setattr(tx_ack_handler.metrics, "namespace", "Loraless")
    return w


def event(phy_payload: bytes, *, gateway: str = GATEWAY, prefix: str = "eu868", snr: float = 7.0,
          frequency: int = 868_100_000, sf: int = 7) -> dict[str, Any]:  # fmt: skip
    """A gw.UplinkFrame as the IoT rule hands it over (with the topic fields the rule adds)."""
    return {
        "phyPayload": base64.b64encode(phy_payload).decode(),
        "txInfo": {
            "frequency": frequency,
            "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": sf, "codeRate": "CR_4_5"}},
        },
        "rxInfo": {
            "gatewayId": gateway,
            "uplinkId": random.randrange(1 << 32),
            "rssi": -60,
            "snr": snr,
            "context": base64.b64encode(random.randrange(1 << 32).to_bytes(4, "big")).decode(),
            "crcStatus": "CRC_OK",
        },
        "topic_prefix": prefix,
        "topic_gateway_id": gateway,
        "received_at": RECEIVED_AT_MS,
    }


def handle(payload: dict[str, Any]) -> str:
    return str(uplink_handler.handler(payload, LambdaContext())["status"])


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def snapshot(device: EndDevice) -> dict[str, Any]:
    return DeviceSession.get(str(device.dev_eui), consistent_read=True).serialize()


def _joined(world: World) -> EndDevice:
    device = joined_device(world)
    assert handle(event(device.uplink(2, b"first").phy_payload)) == "uplink"
    return device


def _garbage(device: EndDevice) -> dict[str, Any]:
    return event(b"\x40\x01\x02")


def _unknown_dev_addr(device: EndDevice) -> dict[str, Any]:
    frame = bytearray(device.uplink(2, b"x").phy_payload)
    frame[1:5] = bytes.fromhex("efbeadde")  # DevAddr deadbeef, nobody's
    return event(bytes(frame))


def _wrong_mic(device: EndDevice) -> dict[str, Any]:
    frame = bytearray(device.uplink(2, b"x").phy_payload)
    frame[-1] ^= 0x5A
    return event(bytes(frame))


def _replayed(device: EndDevice) -> dict[str, Any]:
    assert device.session is not None
    device.session.f_cnt_up = 0  # counter 0 again, other content (so no de-duplication catches it)
    return event(device.uplink(2, b"replayed").phy_payload)


def _reused_dev_nonce(device: EndDevice) -> dict[str, Any]:
    device.dev_nonce = 0
    frame = device.join_request().phy_payload
    for item in UplinkCollection.scan():  # past the de-duplication TTL
        item.delete()
    return event(frame)


def _oversized(device: EndDevice) -> dict[str, Any]:
    return event(device.uplink(0, b"\x02" * 60).phy_payload, sf=12)  # 60 octets at DR0 (M = 59)


def _mac_in_fopts_and_fport_0(device: EndDevice) -> dict[str, Any]:
    frame = bytearray(device.uplink(2, b"\x02", link_check=True).phy_payload)
    frame[9] = 0  # FPort 0 after one octet of FOpts: MAC commands in both places (1.1 §4.3.1.6)
    return event(bytes(frame))


def _unknown_region(device: EndDevice) -> dict[str, Any]:
    return event(device.uplink(2, b"x").phy_payload, prefix="mars433")


BAD_INPUT = [
    (_garbage, "invalid_frame", "InvalidFrames"),
    (_unknown_dev_addr, "unknown_dev_addr", "UnknownDevAddr"),
    (_wrong_mic, "mic_failure", "MICFailures"),
    (_replayed, "replay", "Replays"),
    (_reused_dev_nonce, "join_rejected", "JoinsRejected"),
    (_oversized, "too_large", "FramesTooLarge"),
    (_mac_in_fopts_and_fport_0, "invalid_frame", "InvalidFrames"),
    (_unknown_region, "invalid", "InvalidUplinks"),
]


@pytest.mark.parametrize(("make", "status", "metric"), BAD_INPUT, ids=[b[0].__name__[1:] for b in BAD_INPUT])
def test_bad_input_is_counted_logged_and_changes_nothing(
    world: World, logs: io.StringIO, capsys: pytest.CaptureFixture[str], make: Any, status: str, metric: str
) -> None:
    device = _joined(world)
    before = snapshot(device)
    payload = make(device)
    capsys.readouterr()
    assert handle(payload) == status  # no exception: the platform does not retry
    assert world.counts[metric] == 1
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(metric in blob for blob in emitted)  # the Powertools EMF blob carries the count
    warnings = [line for line in log_lines(logs) if line["level"] == "WARNING"]
    assert warnings and warnings[-1]["function_name"] == "Uplink"
    assert snapshot(device) == before


def test_every_log_line_of_an_uplink_names_device_and_gateway_and_no_key_is_ever_logged(
    world: World, logs: io.StringIO, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    seen = ""
    for version, dev_eui in (("1.0.3", "0004a30b001c0540"), ("1.1.0", "0004a30b001c0541")):
        device = joined_device(world, version, dev_eui)
        seen += logs.getvalue()
        assert device.session is not None
        for confirmed in (False, True):
            up = device.uplink(2, b"secret?", confirmed=confirmed, link_check=True)
            logs.seek(0)
            logs.truncate()
            uplink_event = event(up.phy_payload, frequency=up.frequency, sf=12 - up.data_rate)
            assert handle(uplink_event) == "uplink"
            lines = log_lines(logs)
            # one line per frame, saying what was done with it
            assert [line["message"] for line in lines] == ["uplink handled"]
            line = lines[0]
            assert (line["status"], line["f_cnt"], "LinkCheckReq" in line["commands"]) == (
                "uplink",
                up.f_cnt,
                True,
            )
            for line in lines:  # every line of this uplink's processing
                assert (line["gateway_id"], line["dev_eui"]) == (GATEWAY, dev_eui)
                assert line["dev_addr"] == str(device.session.dev_addr)
            seen += logs.getvalue()
        session = device.session
        js = join_server_keys(NWK_KEY, device.dev_eui)
        keys = [APP_KEY, NWK_KEY, session.f_nwk_s_int_key, session.s_nwk_s_int_key, session.nwk_s_enc_key,
                session.app_s_key, js.js_int_key, js.js_enc_key]  # fmt: skip
        everything = (seen + capsys.readouterr().out + caplog.text).lower()
        assert dev_eui in everything
        for key in keys:
            assert key.hex().lower() not in everything
            assert base64.b64encode(key.value).decode().lower() not in everything


def test_a_confirmed_downlink_the_gateway_could_not_send_goes_back_to_the_queue(world: World) -> None:
    device = _joined(world)
    dev_eui = str(device.dev_eui)
    queue.enqueue(dev_eui, 8, b"ack me", confirmed=True)
    assert handle(event(device.uplink(2, b"a").phy_payload)) == "uplink"
    frame = world.commands[-1][1]
    (sent,) = queue.pending(dev_eui)
    assert sent.f_cnt is not None
    events: list[Any] = []
    ack = {"gatewayId": GATEWAY, "downlinkId": frame["downlinkId"],
           "items": [{"status": "TOO_LATE"}, {"status": "COLLISION_PACKET"}]}  # fmt: skip
    monkey_send = events.append
    result = tx_ack_handler.handle_tx_ack(ack, world.count, monkey_send)
    assert result["status"] == "COLLISION_PACKET" and result["requeued"] is True
    ((txack),) = events
    assert txack.details["status"] == "COLLISION_PACKET" and txack.details["fCntDown"] == sent.f_cnt
    assert txack.details["queueItemId"] == sent.queue_item_id
    (back,) = queue.pending(dev_eui)
    assert back.f_cnt is None  # not counted as sent
    assert handle(event(device.uplink(2, b"b").phy_payload)) == "uplink"
    received = device.downlink(base64.b64decode(world.commands[-1][1]["items"][0]["phyPayload"]))
    assert received.payload == b"ack me" and received.confirmed
    assert world.counts["DownlinkRetries"] == 0 and world.counts["TxErrors"] == 1


def test_the_downlink_avoids_offline_and_recently_too_late_gateways(world: World) -> None:
    device = _joined(world)
    strong, weak = "0016c001ff10a236", "0016c001ff10a237"

    def uplink_via_both() -> str:
        """Both gateways hear the frame; the invocations race as on AWS and one processes both."""
        up = device.uplink(2, b"x", confirmed=True)
        pipeline = Ports(
            count=world.count, publish=world.publish, invoke=world.invoke, window_s=0.3, clock=world.clock,
            deliver=world.deliver,
        )  # fmt: skip
        barrier = threading.Barrier(2)
        results: list[str] = []

        def run(gateway: str, snr: float) -> None:
            barrier.wait()
            results.append(
                handle_reception(parse_uplink(event(up.phy_payload, gateway=gateway, snr=snr)), pipeline)
            )

        threads = [threading.Thread(target=run, args=a) for a in ((strong, 9.0), (weak, -3.0))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["duplicate", "uplink"]
        return str(world.commands[-1][1]["gatewayId"])

    assert uplink_via_both() == strong
    Gateway(strong, online=False, last_seen_at=1_700_000_000).save()  # its bridge's last will
    assert uplink_via_both() == weak and world.counts["GatewaysSkipped"] == 1
    Gateway(strong, online=True, last_seen_at=1_700_000_000).save()
    assert uplink_via_both() == strong
    tx_ack_handler.handle_tx_ack(
        {"gatewayId": strong, "downlinkId": 1, "items": [{"status": "TOO_LATE"}, {"status": "OK"}]},
        world.count,
        lambda _e: None,
    )
    gateways.gateway_event({"gatewayId": strong, "rxPacketsReceived": 3, "topic_prefix": "eu868"})
    assert TOO_LATE_KEY in Gateway.get(strong).stats  # a stats message keeps the mark
    assert uplink_via_both() == weak and world.counts["GatewaysSkipped"] == 2
