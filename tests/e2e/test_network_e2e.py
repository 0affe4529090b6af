"""The network server's radio behaviour end to end, on one local cloud: simulated packet forwarders ->
gateway bridge (its own process) -> IoT rules -> network-server and join-server Lambdas -> DynamoDB ->
the application's MQTT topics, with the reference device model on the other side of the air.

Covered: one frame heard by three gateways is one event with three receptions; a confirmed uplink is
acknowledged in RX1 before the window opens; LinkCheckReq is answered with the gateway count; ADR moves a
SF12 device with a strong signal to a faster data rate; garbage and replays change nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.lorawan.device import EndDevice
from functions.lorawan.mac_commands import LinkADRReq
from functions.lorawan.regions.base import LoRaModulation
from functions.simulator import provisioning
from functions.simulator.fleet import CAYENNE_TEMPERATURE
from functions.simulator.provisioning import application_topic
from functions.simulator.radio import Air, Heard, Transmission, join
from localcloud.broker import Mosquitto
from tests.e2e.conftest import Api, NewDevice
from tests.support.mosquitto import Inbox

pytestmark = pytest.mark.slow
GATEWAYS = ["00800000e2e00001", "00800000e2e00002", "00800000e2e00003"]


async def events(inbox: Inbox, topic: str, count: int = 1, timeout_s: float = 20) -> list[Any]:
    return await asyncio.to_thread(inbox.wait, topic, count, timeout_s)


def assert_rx1(heard: Heard, sent: Transmission, device: EndDevice) -> None:
    """The downlink goes out in RX1: the device's RX1 frequency and data rate, RX1 delay after the uplink
    on the concentrator's clock, and it reached the gateway before that moment."""
    frequency, data_rate = device.rx1(sent.uplink)
    modulation = device.region.data_rate(data_rate).modulation
    assert isinstance(modulation, LoRaModulation)
    assert heard.txpk["freq"] == frequency / 1_000_000
    assert heard.txpk["datr"] == f"SF{modulation.spreading_factor}BW{modulation.bandwidth // 1000}"
    delay_us = device.rx1_delay * 1_000_000
    assert heard.txpk["tmst"] == (sent.tmst[heard.gateway_id] + delay_us) & 0xFFFFFFFF
    late = heard.at - sent.sent_at
    assert late < device.rx1_delay, f"PULL_RESP {late:.2f} s after the uplink, RX1 at {device.rx1_delay} s"


def test_an_uplink_heard_by_three_gateways_is_one_event_with_three_receptions(
    bridge: tuple[str, int], inbox: Inbox, new_device: NewDevice
) -> None:
    device, created = new_device("three-gateways")
    up_topic = application_topic(created, "up")

    async def scenario() -> None:
        async with Air(bridge, GATEWAYS) as air:
            await join(air, device)
            await events(inbox, application_topic(created, "join"))
            # Warm-up: a copy that reaches an environment still starting arrives after the 200 ms window
            # and is counted late (functions/network/README.md, "Copies after the claim"); in steady state
            # each copy finds a warm environment.
            air.transmit(device, device.uplink(1, b"\x00"))
            await events(inbox, up_topic)
            assert await air.quiet(2.0) == []  # and its late copies, if any, are through
            snr = {GATEWAYS[0]: 2.0, GATEWAYS[1]: 9.5, GATEWAYS[2]: -3.25}
            air.transmit(device, device.uplink(1, CAYENNE_TEMPERATURE), snr=snr)
            _, up = await events(inbox, up_topic, 2)
            assert await air.quiet(2.0) == []  # unconfirmed, nothing to say: no downlink
            assert len(inbox.matching(up_topic)) == 2, "one frame, one event"
            assert base64.b64decode(up["data"]) == CAYENNE_TEMPERATURE and up["fCnt"] == 1
            receptions = {r["gatewayId"]: r for r in up["rxInfo"]}
            assert sorted(receptions) == GATEWAYS
            assert {g: receptions[g]["snr"] for g in GATEWAYS} == snr

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_a_confirmed_uplink_is_acknowledged_in_rx1(
    bridge: tuple[str, int], inbox: Inbox, new_device: NewDevice
) -> None:
    device, created = new_device("confirmed")

    async def scenario() -> None:
        async with Air(bridge, GATEWAYS[:1]) as air:
            await join(air, device)
            uplink = device.uplink(2, b"\x01", confirmed=True)
            sent = air.transmit(device, uplink)
            heard = await air.downlink()
            assert_rx1(heard, sent, device)
            received = device.downlink(heard.phy_payload)
            assert received.ack and device.awaiting_ack is None
            (up,) = await events(inbox, application_topic(created, "up"))
            assert up["confirmed"] is True and up["fPort"] == 2

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_link_check_is_answered_with_the_number_of_gateways_and_the_margin(
    bridge: tuple[str, int], inbox: Inbox, new_device: NewDevice
) -> None:
    device, created = new_device("link-check")

    async def scenario() -> None:
        async with Air(bridge, GATEWAYS) as air:
            await join(air, device)
            assert device.data_rate == 0  # SF12: demodulation floor -20 dB (SX1276 datasheet)
            uplink = device.uplink(1, CAYENNE_TEMPERATURE, link_check=True)
            snr = {GATEWAYS[0]: 4.0, GATEWAYS[1]: -1.0, GATEWAYS[2]: 7.5}
            sent = air.transmit(device, uplink, snr=snr)
            heard = await air.downlink()
            assert heard.gateway_id == GATEWAYS[2], "the downlink goes through the best gateway"
            assert_rx1(heard, sent, device)
            device.downlink(heard.phy_payload)
            assert device.link_check == (27, 3)  # margin 7.5 - (-20) dB, three gateways
            await events(inbox, application_topic(created, "up"))

    asyncio.run(asyncio.wait_for(scenario(), 90))


@dataclass
class ADRRun:
    """A device that joined at DR5 (SF7), then sends at DR0 (SF12) with ADR on and a strong signal (SNR 9
    dB) until a few uplinks after the network's first LinkADRReq: the up events in order, and each
    LinkADRReq with the number of the uplink whose downlink carried it."""

    device: EndDevice
    ups: list[dict[str, Any]]
    requests: list[tuple[int, LinkADRReq]]
    after_first: int = 6


@pytest.fixture(scope="module")
def adr_run(broker: Mosquitto, bridge: tuple[str, int], new_device: NewDevice) -> ADRRun:
    device, created = new_device("adr")
    up_topic = application_topic(created, "up")
    inbox = Inbox(broker, up_topic)
    run = ADRRun(device, [], [])

    async def scenario() -> None:
        async with Air(bridge, GATEWAYS[:1]) as air:
            await join(air, device, data_rate=5)
            assert device.adr and device.data_rate == 0
            for sent in range(1, 41):
                uplink = device.uplink(1, CAYENNE_TEMPERATURE)
                air.transmit(device, uplink, snr=9.0)
                (*_, up) = await events(inbox, up_topic, sent)
                assert up["fCnt"] == uplink.f_cnt
                for heard in await air.quiet(0.3):
                    received = device.downlink(heard.phy_payload)
                    run.requests += [(sent, c) for c in received.mac_commands if isinstance(c, LinkADRReq)]
                if run.requests and sent >= run.requests[0][0] + run.after_first:
                    break

    try:
        asyncio.run(asyncio.wait_for(scenario(), 150))
        run.ups = [json.loads(payload) for _, payload in inbox.matching(up_topic)]
    finally:
        inbox.close()
    return run


def test_adr_moves_a_strong_sf12_device_to_a_faster_data_rate(adr_run: ADRRun) -> None:
    assert adr_run.requests, f"no LinkADRReq after {len(adr_run.ups)} uplinks at SNR 9 dB on SF12"
    first_at, first = adr_run.requests[0]
    assert first_at == 20, "ADR decides once the history holds 20 uplinks"
    assert first.data_rate == 5 and adr_run.device.data_rate == 5
    rates = [up["dr"] for up in adr_run.ups]
    assert rates[:first_at] == [0] * first_at and set(rates[first_at:]) == {5}, rates


def test_adr_counts_its_margin_from_the_data_rate_the_device_uses(adr_run: ADRRun) -> None:
    _, first = adr_run.requests[0]
    # at DR0: 9 - (-20) - 10 dB installation margin = 19 dB, six 3 dB steps: DR0 -> DR5, then TXPower 1
    assert (first.data_rate, first.tx_power) == (5, 1)


def test_after_an_acknowledged_link_adr_req_adr_waits_for_a_fresh_history(adr_run: ADRRun) -> None:
    first_at, first = adr_run.requests[0]
    later = [(at, c.data_rate, c.tx_power) for at, c in adr_run.requests[1:]]
    assert later == [], f"LinkADRReq (uplink, DR, TXPower) after the first at uplink {first_at}: {later}"
    assert adr_run.device.tx_power_index == first.tx_power


def session_of(device: dict[str, Any]) -> dict[str, Any]:
    """What the network keeps of the device's session, as the API shows it."""
    return {key: device.get(key) for key in ("activated", "dev_addr", "f_cnt_up", "dr")}


def uplink_outcomes(output: str) -> Counter[str]:
    """What the uplink Lambda's log lines say it did with each reception (`status`)."""
    outcomes: Counter[str] = Counter()
    for line in output.splitlines():
        _, _, record = line.partition("] ")
        if '"uplink handled"' in record:
            outcomes[json.loads(record)["status"]] += 1
    return outcomes


def settled_outcomes(capsys: pytest.CaptureFixture[str], uplinks: int, timeout_s: float = 30) -> Counter[str]:
    """The outcomes once `uplinks` receptions were accepted and the logs went quiet. The application gets
    an uplink's `up` event before its invocation has sent the downlink and logged "uplink handled", so
    outcomes read the moment the event arrives can miss the invocation still at work (while a copy that
    came after the claim has already logged `late`)."""
    output = ""
    deadline = time.monotonic() + timeout_s
    while uplink_outcomes(output)["uplink"] < uplinks and time.monotonic() < deadline:
        time.sleep(0.2)
        output += capsys.readouterr().out
    for _ in range(10):  # then until a second passes without another outcome (none processed twice)
        time.sleep(1.0)
        new = capsys.readouterr().out
        output += new
        if '"uplink handled"' not in new:
            break
    return uplink_outcomes(output)


def test_garbage_and_replayed_frames_change_nothing(
    bridge: tuple[str, int], api: Api, inbox: Inbox, new_device: NewDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    device, created = new_device("garbage")
    up_topic = application_topic(created, "up")

    async def scenario() -> None:
        async with Air(bridge, GATEWAYS[:2]) as air:
            await join(air, device)
            good = device.uplink(1, CAYENNE_TEMPERATURE)
            air.transmit(device, good)
            await events(inbox, up_topic)
            for heard in await air.quiet(1.0):  # MAC requests the network may have for a new session
                device.downlink(heard.phy_payload)
            assert device.session is not None
            before = session_of(api.device(str(device.dev_eui)))
            assert before["f_cnt_up"] == 1
            published = len(inbox.matching("application/#"))

            rng = random.Random(6)
            garbage = [rng.randbytes(rng.randint(1, 60)) for _ in range(6)]
            garbage.append(b"\x00" + rng.randbytes(22))  # a JoinRequest from nobody we know
            garbage.append(b"\x40" + rng.randbytes(20))  # a data uplink of a random DevAddr
            forged = bytearray(good.phy_payload)
            forged[-1] ^= 0xFF  # our device's frame with a broken MIC
            garbage.append(bytes(forged))
            garbage.append(good.phy_payload[:-5])  # truncated
            for frame in garbage:
                air.transmit(device, frame)
            air.transmit(device, good)  # the same frame again (a replay within the de-duplication TTL)
            session = device.session
            device.session = replace(session, f_cnt_up=0)  # an old counter with a fresh MIC
            replayed = device.uplink(1, b"\x01\x67\x01\x00")
            device.session = session
            air.transmit(device, replayed)
            # One log event for each of the two (the frame sent again, the old counter): waited for, not
            # timed (on a loaded machine events take more than a few seconds); then no downlink came.
            logs = await events(inbox, application_topic(created, "log"), 2)
            assert await air.quiet(1.0) == []
            # The application hears only what ChirpStack tells it: the frame sent again and the old
            # counter, as log events; nothing else changed.
            new = [(t, json.loads(p)) for t, p in inbox.matching("application/#")[published:]]
            assert {t.rsplit("/", 1)[1] for t, _ in new} == {"log"}, [t for t, _ in new]
            assert {m["code"] for _, m in new} <= {"UPLINK_F_CNT_RETRANSMISSION", "UPLINK_F_CNT_RESET"}
            assert [m for _, m in new] == logs  # and nothing more
            assert session_of(api.device(str(device.dev_eui))) == before

            follow = device.uplink(1, CAYENNE_TEMPERATURE)
            air.transmit(device, follow)
            (_, up) = await events(inbox, up_topic, 2)
            assert up["fCnt"] == follow.f_cnt == 1

    asyncio.run(asyncio.wait_for(scenario(), 90))
    outcomes = settled_outcomes(capsys, uplinks=2)
    rejected = {"invalid_frame", "mic_failure", "join_rejected", "replay"}
    assert rejected <= set(outcomes), f"every rejection path taken: {outcomes}"
    assert outcomes["uplink"] == 2, outcomes


GPS_EPOCH_UNIX_S = 315_964_800  # 1980-01-06T00:00:00Z
GPS_LEAP_S = 18  # GPS runs ahead of UTC by the leap seconds since 1980


def held_rxpk(air: Air, gateway_id: str, device: EndDevice, uplink: Any, held_s: float) -> dict[str, Any]:
    """The rxpk of a frame a GPS-locked gateway heard `held_s` ago and whose PUSH_DATA only leaves now
    (a backhaul, or a broker, held it): its `time`, `tmms` and `tmst` all say when it was heard."""
    modulation = device.region.data_rate(uplink.data_rate).modulation
    assert isinstance(modulation, LoRaModulation)
    rxpk = air.forwarders[gateway_id].rxpk(
        uplink.phy_payload, frequency=uplink.frequency, spreading_factor=modulation.spreading_factor,
        bandwidth_khz=modulation.bandwidth // 1000, channel=uplink.channel,
    )  # fmt: skip
    heard = time.time() - held_s
    rxpk["time"] = datetime.fromtimestamp(heard, UTC).isoformat().replace("+00:00", "Z")
    rxpk["tmms"] = int((heard - GPS_EPOCH_UNIX_S + GPS_LEAP_S) * 1000)
    rxpk["tmst"] = (rxpk["tmst"] - int(held_s * 1_000_000)) & 0xFFFFFFFF
    return rxpk


def test_a_frame_held_past_its_windows_gets_no_downlink_and_its_queued_payload_waits(
    bridge: tuple[str, int], api: Api, inbox: Inbox, new_device: NewDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: a frame that reaches the network after both its receive windows (held 6 s on its way, a
    GPS-locked gateway's clock says so) is delivered, but no downlink leaves for windows already gone: the
    queued payload stays queued, nothing reaches the gateway, the application hears of no transmission;
    the device's next frame takes the payload."""
    device, created = new_device("held-frame")
    up_topic = application_topic(created, "up")
    gateway = GATEWAYS[0]

    async def scenario() -> None:
        async with Air(bridge, [gateway]) as air:
            await join(air, device)
            provisioning.enqueue_downlink(api.url, api.token, str(device.dev_eui), f_port=7, data=b"waits")
            held = device.uplink(1, CAYENNE_TEMPERATURE)
            air.forwarders[gateway].push({"rxpk": [held_rxpk(air, gateway, device, held, held_s=6.0)]})
            (up,) = await events(inbox, up_topic)
            assert up["fCnt"] == held.f_cnt
            assert await air.quiet(device.rx1_delay + 2.0) == []  # nothing for windows long gone
            assert inbox.matching(application_topic(created, "txack")) == []
            assert inbox.matching(application_topic(created, "ack")) == []

            for _ in range(3):  # the next opportunities (a loaded machine may miss one as well)
                air.transmit(device, device.uplink(1, CAYENNE_TEMPERATURE))
                heard = await air.quiet(device.rx1_delay + 2.0)
                payloads = [device.downlink(h.phy_payload) for h in heard if h.answers is not None]
                if any(p.f_port == 7 for p in payloads):
                    break
            else:
                raise AssertionError("the queued payload never left")
            (got,) = [p for p in payloads if p.f_port == 7]
            assert got.payload == b"waits"

    asyncio.run(asyncio.wait_for(scenario(), 120))
    output = capsys.readouterr().out
    missed = [line for line in output.splitlines() if "downlink due but no receive window left" in line]
    assert missed and all(str(device.dev_eui) in line for line in missed), output[-2000:]
