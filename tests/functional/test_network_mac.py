"""Server-sent MAC requests against the reference device, through the real uplink pipeline on moto:
every request is applied to the session only once the device acknowledges it, refusals and silence
leave the session as it was, unanswered requests are retried a bounded number of times, and MAC
commands always fit the downlink (FOpts with a payload, FPort 0 without)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from functions.appserver import queue
from functions.lorawan.device import EndDevice
from functions.lorawan.mac_commands import (
    ADRParamSetupReq,
    DevStatusReq,
    DlChannelReq,
    DutyCycleReq,
    LinkADRReq,
    LinkCheckAns,
    NewChannelReq,
    RejoinParamSetupReq,
    RXParamSetupReq,
    RXTimingSetupReq,
)
from functions.lorawan.phypayload import PHYPayload
from functions.network import mac_requests
from functions.network.mac.discipline import MAX_ATTEMPTS
from functions.network.models import DeviceSession
from functions.network.uplink import handle_reception
from tests.functional.test_network_pipeline import World, downlink_payload, joined_device, reception


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0  # one gateway: nothing to wait for
    return w


def uplink(world: World, device: EndDevice, *, snr: float = 7.0, **kwargs: Any) -> str:
    up = device.uplink(kwargs.pop("f_port", 2), kwargs.pop("payload", b"u"), **kwargs)
    before = len(world.commands)
    status = handle_reception(
        reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate, snr=snr), world.pipeline()
    )
    world.last_downlink = world.commands[-1] if len(world.commands) > before else None
    return status


def downlink(world: World, device: EndDevice) -> list[Any]:
    """The device takes the downlink of the last uplink; returns the MAC commands it carried."""
    assert world.last_downlink is not None
    return device.downlink(downlink_payload(world)).mac_commands


def session_of(device: EndDevice) -> DeviceSession:
    return DeviceSession.get(str(device.dev_eui), consistent_read=True)


Check = Callable[[EndDevice, DeviceSession], bool]
EXCHANGES: list[tuple[str, dict[str, Any], type, Check]] = [
    (
        "1.0.3",
        {"rx1_dr_offset": 1, "rx2_dr": 3, "rx2_frequency": 869_525_000},
        RXParamSetupReq,
        lambda d, s: (d.rx1_dr_offset, d.rx2_data_rate) == (1, 3) and (s.rx1_dr_offset, s.rx2_dr) == (1, 3),
    ),
    ("1.0.3", {"rx1_delay": 5}, RXTimingSetupReq, lambda d, s: d.rx1_delay == 5 and s.rx1_delay == 5),
    (
        "1.0.3",
        {"channels": {3: (867_100_000, 0, 5)}},
        NewChannelReq,
        lambda d, s: 3 in d.enabled_channels and s.mac_state.applied.channels == {"3": [867_100_000, 0, 5]},
    ),
    (
        "1.0.3",
        {"downlink_channels": {1: 868_500_000}},
        DlChannelReq,
        lambda d, s: (
            d.downlink_frequencies == {1: 868_500_000}
            and s.mac_state.applied.downlink_channels == {"1": 868_500_000}
        ),
    ),
    (
        "1.0.3",
        {"max_duty_cycle": 3},
        DutyCycleReq,
        lambda d, s: d.max_duty_cycle == 3 and s.mac_state.applied.max_duty_cycle == 3,
    ),
    (
        "1.1.0",
        {"adr_ack_limit_exp": 7, "adr_ack_delay_exp": 4},
        ADRParamSetupReq,
        lambda d, s: (
            (d.adr_ack_limit, d.adr_ack_delay) == (128, 16) and s.mac_state.applied.adr_ack_limit_exp == 7
        ),
    ),
    (
        "1.1.0",
        {"rejoin_max_time_n": 2, "rejoin_max_count_n": 3},
        RejoinParamSetupReq,
        lambda d, s: s.mac_state.applied.rejoin_max_count_n == 3,
    ),
    (
        "1.0.3",
        {"dev_status_now": True},
        DevStatusReq,
        lambda d, s: s.battery == 255 and s.mac_state.desired.dev_status_now is None,
    ),
]


@pytest.mark.parametrize(
    ("version", "desired", "command", "check"), EXCHANGES, ids=[e[2].__name__ for e in EXCHANGES]
)
def test_a_request_is_applied_only_once_the_device_acknowledges_it(
    world: World, version: str, desired: dict[str, Any], command: type, check: Check
) -> None:
    dev_eui = "0004a30b001c05" + ("31" if version.startswith("1.1") else "30")
    device = joined_device(world, version, dev_eui)
    before = session_of(device)
    mac_requests.request(dev_eui, **desired)
    assert uplink(world, device) == "uplink"
    sent = downlink(world, device)
    assert [c for c in sent if isinstance(c, command)], sent
    pending = session_of(device)
    assert command.__name__ in pending.pending_mac
    assert not check(device, pending) or command is DevStatusReq  # nothing applied before the answer
    assert (pending.rx1_delay, pending.rx2_dr, pending.rx1_dr_offset) == (
        before.rx1_delay,
        before.rx2_dr,
        before.rx1_dr_offset,
    )
    assert uplink(world, device) == "uplink"  # carries the answer
    after = session_of(device)
    assert after.pending_mac == {}
    assert check(device, after)
    assert world.counts["MACNacks"] == 0 and world.counts["MACRetries"] == 0
    if command is DevStatusReq:
        assert [e.details for e in world.events if e.type == "status"] == [{"battery": 255, "margin": 0}]
    # Once applied, nothing is asked again.
    uplink(world, device)
    assert not any(isinstance(c, command) for c in (downlink(world, device) if world.last_downlink else []))


def test_a_dl_channel_moves_rx1_of_that_uplink_channel(world: World) -> None:
    device = joined_device(world)
    mac_requests.request(
        str(device.dev_eui), downlink_channels={0: 868_500_000, 1: 868_700_000, 2: 868_900_000}
    )
    for _ in range(3):  # one DlChannelReq per downlink: answers carry no channel index
        uplink(world, device)
        downlink(world, device)
    assert device.downlink_frequencies == {0: 868_500_000, 1: 868_700_000, 2: 868_900_000}
    up = device.uplink(2, b"x", confirmed=True)
    handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline())
    rx1 = world.commands[-1][1]["items"][0]["txInfo"]["frequency"]
    assert rx1 == device.downlink_frequencies[up.channel] == device.rx1(up)[0]


def test_a_refused_request_leaves_the_session_as_it_was_and_is_not_repeated(world: World) -> None:
    device = joined_device(world)
    dev_eui = str(device.dev_eui)
    mac_requests.request(dev_eui, channels={3: (867_100_000, 5, 2)})  # MinDR above MaxDR: the device refuses
    uplink(world, device)
    assert any(isinstance(c, NewChannelReq) for c in downlink(world, device))
    uplink(world, device)  # NewChannelAns with the data-rate-range bit clear
    session = session_of(device)
    assert not session.mac_state.applied.channels and session.pending_mac == {}
    assert session.mac_state.failed["NewChannelReq"].reason == "nack"
    assert world.counts["MACNacks"] == 1
    assert uplink(world, device) == "uplink" and world.last_downlink is None
    # The operator asks for something valid: tried again.
    mac_requests.request(dev_eui, channels={3: (867_100_000, 0, 5)})
    uplink(world, device)
    downlink(world, device)
    uplink(world, device)
    assert session_of(device).mac_state.applied.channels == {"3": [867_100_000, 0, 5]}


def test_an_unanswered_request_is_retried_then_dropped(world: World) -> None:
    device = joined_device(world)
    mac_requests.request(str(device.dev_eui), max_duty_cycle=2)
    for attempt in range(1, MAX_ATTEMPTS + 1):  # the device never hears these downlinks
        uplink(world, device)
        assert any(isinstance(c, DutyCycleReq) for c in PHYPayload_commands(world, device))
        assert session_of(device).pending_mac["DutyCycleReq"]["attempts"] == attempt
    assert world.counts["MACRetries"] == MAX_ATTEMPTS - 1
    uplink(world, device)
    session = session_of(device)
    assert session.pending_mac == {} and session.mac_state.applied.max_duty_cycle is None
    assert world.counts["MACRequestsDropped"] == 1
    assert world.last_downlink is None


def PHYPayload_commands(world: World, device: EndDevice) -> list[Any]:  # noqa: N802 - reads as a noun
    """The MAC commands of the last downlink, read with a copy of the device so the device misses it."""
    import copy

    twin = copy.deepcopy(device)
    return twin.downlink(downlink_payload(world)).mac_commands


@pytest.mark.parametrize("version", ["1.0.3", "1.1.0"])
def test_mac_commands_beyond_fopts_go_on_fport_0_without_a_payload(world: World, version: str) -> None:
    device = joined_device(world, version, "0004a30b001c05b" + version[2])
    if version.startswith("1.1"):
        uplink(world, device)  # RekeyInd / RekeyConf first
        downlink(world, device)
    mac_requests.request(
        str(device.dev_eui),
        rx1_dr_offset=1,
        rx1_delay=2,
        channels={3: (867_100_000, 0, 5)},
        downlink_channels={0: 868_500_000},
        max_duty_cycle=1,
        dev_status_now=True,
    )
    uplink(world, device)
    phy = PHYPayload.from_bytes(downlink_payload(world))
    assert phy.mac_payload.f_port == 0 and phy.mac_payload.fhdr.f_opts == b""
    assert len(downlink(world, device)) == 6  # 1 + 5 + 2 + 6 + 5 + 2 = 21 octets: more than FOpts holds
    uplink(world, device)
    session = session_of(device)
    assert session.pending_mac == {} and session.rx1_delay == 2 and session.rx1_dr_offset == 1


@pytest.mark.parametrize("version", ["1.0.3", "1.1.0"])
def test_with_an_application_payload_only_15_octets_ride_along_and_the_rest_waits(
    world: World, version: str
) -> None:
    device = joined_device(world, version, "0004a30b001c05c" + version[2])
    dev_eui = str(device.dev_eui)
    if version.startswith("1.1"):
        uplink(world, device)  # RekeyInd / RekeyConf first
        downlink(world, device)
    mac_requests.request(
        dev_eui, rx1_dr_offset=1, channels={3: (867_100_000, 0, 5)}, downlink_channels={0: 868_500_000}
    )  # 5 + 6 + 5 = 16 octets
    queue.enqueue(dev_eui, 9, b"app")
    uplink(world, device)
    phy = PHYPayload.from_bytes(downlink_payload(world))
    assert phy.mac_payload.f_port == 9 and 0 < len(phy.mac_payload.fhdr.f_opts) <= 15
    received = device.downlink(downlink_payload(world))
    assert received.payload == b"app" and len(received.mac_commands) == 2
    assert world.counts["MACCommandsDeferred"] == 1
    uplink(world, device)  # answers; the deferred request goes now
    assert [type(c) for c in downlink(world, device)] == [DlChannelReq]
    uplink(world, device)
    assert session_of(device).pending_mac == {}


def test_answers_that_do_not_fit_are_dropped_and_the_frame_never_exceeds_the_data_rate(world: World) -> None:
    device = joined_device(world)
    # 51 LinkCheckReqs on FPort 0 at DR0 (N = 51) ask for 153 octets of answers.
    up = device.uplink(0, b"\x02" * 51)
    handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=0), world.pipeline())
    frame = world.commands[-1][1]
    payload = base64.b64decode(frame["items"][0]["phyPayload"])
    assert len(payload) - 5 <= 59  # M of DR0
    answers = device.downlink(payload).mac_commands
    assert len(answers) == 17 and all(isinstance(a, LinkCheckAns) for a in answers)
    assert world.counts["MACAnswersDropped"] == 51 - 17


def test_a_large_payload_goes_in_rx1_only_when_rx2_cannot_carry_it(world: World) -> None:
    device = joined_device(world)
    device.data_rate = 5
    queue.enqueue(str(device.dev_eui), 3, bytes(100))  # fits DR5 (N = 222), not RX2's DR0 (N = 51)
    uplink(world, device)
    frame = world.commands[-1][1]
    assert len(frame["items"]) == 1 and frame["items"][0]["txInfo"]["frequency"] != 869_525_000
    queue.enqueue(str(device.dev_eui), 3, bytes(10))
    uplink(world, device)
    assert len(world.commands[-1][1]["items"]) == 2


def test_adr_converges_from_sf12_on_a_strong_link(world: World) -> None:
    device = joined_device(world)
    session = session_of(device)
    session.dr = 0
    session.save()
    device.data_rate = 0
    commands: list[Any] = []
    for _ in range(20):
        uplink(world, device, snr=10.0)
        if world.last_downlink is not None:
            commands = downlink(world, device)
    assert any(isinstance(c, LinkADRReq) for c in commands)
    assert device.data_rate == 5  # SF7
    assert uplink(world, device, snr=10.0) == "uplink"  # LinkADRAns
    session = session_of(device)
    assert (session.dr, session.tx_power_index, session.pending_mac) == (5, 1, {})
    # The history starts over at the new settings: no further request until it holds 20 uplinks again.
    assert len(session.uplink_history) == 1  # the uplink that carried the LinkADRAns, at DR5
    for _ in range(18):
        uplink(world, device, snr=10.0)
        assert world.last_downlink is None
    uplink(world, device, snr=10.0)
    (follow_up,) = [c for c in downlink(world, device) if isinstance(c, LinkADRReq)]
    assert (follow_up.data_rate, follow_up.tx_power) == (5, 3)  # 7.5 dB left at SF7: two power steps


def test_adr_starts_from_the_data_rate_the_device_uses(world: World) -> None:
    device = joined_device(world)  # joined at DR5; the device sends at DR0 (SF12)
    assert int(session_of(device).dr) == 5 and device.data_rate == 0
    for _ in range(20):
        uplink(world, device, snr=9.0)
    (first,) = [c for c in downlink(world, device) if isinstance(c, LinkADRReq)]
    assert (first.data_rate, first.tx_power) == (5, 1)  # 9 - (-20) - 10 = 19 dB: six steps from DR0


def test_ping_slot_info_and_device_mode_are_answered_and_stored(world: World) -> None:
    from functions.lorawan.mac_commands import DeviceModeConf, DeviceModeInd, PingSlotInfoAns, PingSlotInfoReq

    device = joined_device(world, "1.1.0", "0004a30b001c0531")
    uplink(world, device)  # RekeyInd / RekeyConf first
    downlink(world, device)
    device.pending_answers += [PingSlotInfoReq(periodicity=3), DeviceModeInd(device_class=2)]
    uplink(world, device)
    answers = downlink(world, device)
    assert PingSlotInfoAns() in answers and DeviceModeConf(device_class=2) in answers
    session = session_of(device)
    assert session.mac_state.ping_slot_periodicity == 3 and session.device_class == "C"
    from functions.network.class_c import send_class_c

    queue.enqueue(str(device.dev_eui), 4, b"now")  # class C by its own word: no uplink needed
    assert send_class_c(str(device.dev_eui), world.publish, world.count) == "sent"


def test_device_time_uses_the_gateways_gps_time(world: World) -> None:
    device = joined_device(world)
    up = device.uplink(2, b"t", device_time=True)
    handle_reception(
        reception(up.phy_payload, rx_info={"timeSinceGpsEpoch": "1386584466.5s"}), world.pipeline()
    )
    device.downlink(downlink_payload(world))
    assert device.network_time == 1386584466.5


def test_unknown_settings_are_refused(world: World) -> None:
    device = joined_device(world)
    with pytest.raises(mac_requests.InvalidRequest):
        mac_requests.request(str(device.dev_eui), rx2_dr=15)
    with pytest.raises(mac_requests.InvalidRequest):
        mac_requests.request(str(device.dev_eui), colour="blue")
    with pytest.raises(mac_requests.InvalidRequest):
        mac_requests.request("ffffffffffffffff", rx1_delay=2)


def test_an_abp_1_1_device_reset_is_confirmed_and_its_mac_state_starts_over(world: World) -> None:
    from functions.lorawan.device import abp
    from functions.lorawan.device.session import DeviceSession as DeviceState
    from functions.lorawan.mac_commands import ResetConf
    from functions.lorawan.regions import get_region
    from functions.lorawan.types import EUI64, AES128Key, DevAddr
    from functions.shared import envelope

    dev_eui, dev_addr = "0004a30b001c0590", DevAddr.parse("26011234")
    keys = [AES128Key.parse(f"{n:02x}" * 16) for n in (1, 2, 3, 4)]
    state = DeviceState(dev_addr, *keys, lorawan_1_1=True, f_cnt_up=100)
    sealed = envelope.seal(
        {"f_nwk_s_int_key": keys[0].hex(), "s_nwk_s_int_key": keys[1].hex(), "nwk_s_enc_key": keys[2].hex()},
        context=dev_eui,
    )
    DeviceSession(dev_eui, dev_addr=str(dev_addr), mac_version="1.1.0", net_keys=sealed, f_cnt_up=100,
                  pending_mac={"DutyCycleReq": {"requests": [{"name": "DutyCycleReq", "max_duty_cycle": 2}],
                                                "apply": {}, "attempts": 1}},
                  mac_state={"applied": {"max_duty_cycle": 5}}).save()  # fmt: skip
    device = abp(EUI64.parse(dev_eui), get_region("EU868"), state, lorawan_version="1.1.0")
    device.reset_indication()
    assert uplink(world, device) == "uplink"
    assert ResetConf(minor=1) in downlink(world, device) and not device.awaiting_conf
    session = DeviceSession.get(dev_eui)
    assert session.pending_mac == {} and session.mac_state.applied.max_duty_cycle is None
    assert session.f_cnt_up == 101  # 1.1 ABP devices keep their frame counters across a reset


def test_answers_to_the_device_take_the_downlink_before_a_payload_that_leaves_no_room(world: World) -> None:
    device = joined_device(world)
    queue.enqueue(str(device.dev_eui), 6, b"p" * 10)
    up = device.uplink(0, b"\x02" * 6)  # six LinkCheckReqs: 18 octets of answers, more than FOpts holds
    handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline())
    received = device.downlink(downlink_payload(world))
    assert received.f_port == 0 and len(received.mac_commands) == 6 and received.f_pending
    uplink(world, device)
    assert device.downlink(downlink_payload(world)).payload == b"p" * 10


def test_a_1_1_device_may_use_a_new_channel_in_the_uplink_that_acknowledges_it(world: World) -> None:
    device = joined_device(world, "1.1.0", "0004a30b001c05d1")
    uplink(world, device)  # RekeyInd / RekeyConf first
    downlink(world, device)
    mac_requests.request(str(device.dev_eui), channels={3: (867_100_000, 0, 5)})
    uplink(world, device)
    downlink(world, device)
    device.enabled_channels = frozenset(
        {3}
    )  # its next uplink goes out on the new channel (TxCh 3 in the MIC)
    up = device.uplink(2, b"new channel")
    assert up.frequency == 867_100_000
    frame = reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate)
    assert handle_reception(frame, world.pipeline()) == "uplink"
    assert session_of(device).mac_state.applied.channels == {"3": [867_100_000, 0, 5]}
