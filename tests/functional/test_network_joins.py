"""OTAA joins on EU868 and US915 (a sub-band configuration: CFList channel mask, RX1 on the 500 kHz
downlink channels) for LoRaWAN 1.0.3 and 1.1; the 16-to-32-bit frame-counter rollover; the device-status
schedule. Reference devices drive the real handlers' pipeline against DynamoDB on moto."""

from __future__ import annotations

import base64

import pytest

from functions.lorawan.device import EndDevice, otaa
from functions.lorawan.mac_commands import DevStatusReq
from functions.lorawan.phypayload import PHYPayload
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64
from functions.network import mac_requests
from functions.network.models import DeviceSession
from functions.network.uplink import handle_reception
from tests.functional.test_network_pipeline import (
    APP_KEY,
    JOIN_EUI,
    NWK_KEY,
    World,
    joined_device,
    provision,
    reception,
)

SUB_BAND_1 = frozenset(range(8, 16)) | {65}  # ChirpStack's us915_1: 903.9-905.3 MHz and 904.6 MHz


@pytest.fixture
def world(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(monkeypatch)
    w.window_s = 0.0
    return w


def _items(world: World) -> list[dict[str, object]]:
    items: list[dict[str, object]] = world.commands[-1][1]["items"]
    return items


@pytest.mark.parametrize("version", ["1.0.3", "1.1.0"])
@pytest.mark.parametrize(("region_name", "prefix"), [("EU868", "eu868"), ("US915", "us915_1")])
def test_otaa_join_then_confirmed_uplink(world: World, region_name: str, prefix: str, version: str) -> None:
    region = get_region(region_name)
    eui = EUI64.parse("0004a30b001c0560" if version == "1.0.3" else "0004a30b001c0561")
    provision(eui, version)
    nwk_key = NWK_KEY if version != "1.0.3" else None
    device: EndDevice = otaa(
        eui, JOIN_EUI, region, app_key=APP_KEY, nwk_key=nwk_key, lorawan_version=version, seed=3
    )
    while True:  # a gateway configured for sub-band 1 hears only its channels
        try:
            request = device.join_request()
        except ValueError:  # the reference device cannot draw a DR for a 500 kHz join channel
            continue
        if prefix == "eu868" or request.channel in SUB_BAND_1:
            break
    status = handle_reception(
        reception(
            request.phy_payload, frequency=request.frequency, dr=request.data_rate, topic_prefix=prefix
        ),
        world.pipeline(),
    )
    assert status == "joined"
    topic, frame = world.commands[-1]
    assert topic == f"{prefix}/gateway/0016c001ff10a235/command/down"
    rx1, rx2 = frame["items"]
    assert rx1["txInfo"]["frequency"] == region.rx1_frequency(request.frequency, request.channel)
    assert rx2["txInfo"]["frequency"] == region.rx2.frequency
    if region_name == "US915":
        assert rx1["txInfo"]["frequency"] == 923_300_000 + 600_000 * (request.channel % 8)
        assert rx1["txInfo"]["modulation"]["lora"]["bandwidth"] == 500_000
        assert rx2["txInfo"]["modulation"]["lora"] == {
            "bandwidth": 500_000, "spreadingFactor": 12, "codeRate": "CR_4_5", "polarizationInversion": True,
        }  # fmt: skip
    assert device.accept_join(base64.b64decode(rx1["phyPayload"]))
    session = DeviceSession.get(str(eui))
    if region_name == "US915":  # the CFList's channel mask leaves the device on the sub-band
        assert device.enabled_channels == SUB_BAND_1
        assert session.mac_state.applied.enabled_channels == sorted(SUB_BAND_1)
    else:
        assert device.enabled_channels == {0, 1, 2}
    for _ in range(3):
        up = device.uplink(2, b"hello", confirmed=True)
        status = handle_reception(
            reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate, topic_prefix=prefix),
            world.pipeline(),
        )
        assert status == "uplink"
        rx1 = _items(world)[0]
        assert rx1["txInfo"]["frequency"] == region.rx1_frequency(up.frequency, up.channel)  # type: ignore[index]
        assert device.downlink(base64.b64decode(rx1["phyPayload"])).ack  # type: ignore[index]
    assert world.app_messages[-1][1]["data"] == base64.b64encode(b"hello").decode()


@pytest.mark.parametrize("version", ["1.0.3", "1.1.0"])
def test_the_frame_counter_rolls_over_from_16_to_32_bits(world: World, version: str) -> None:
    dev_eui = "0004a30b001c0570" if version == "1.0.3" else "0004a30b001c0571"
    device = joined_device(world, version, dev_eui)
    assert device.session is not None
    stored = DeviceSession.get(dev_eui)
    stored.f_cnt_up = 65534
    stored.save()
    device.session.f_cnt_up = 65534
    for _ in range(4):
        up = device.uplink(2, b"roll")
        status = handle_reception(
            reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline()
        )
        assert status == "uplink"
    assert PHYPayload.from_bytes(up.phy_payload).mac_payload.fhdr.f_cnt == 1  # 65537 on the wire
    assert [e.f_cnt for e in world.events if e.type == "up"] == [65534, 65535, 65536, 65537]
    assert world.app_messages[-1][1]["data"] == base64.b64encode(b"roll").decode()  # AppSKey with 32 bits
    assert DeviceSession.get(dev_eui).f_cnt_up == 65538
    device.session.f_cnt_up = 65535  # an old frame across the wrap
    replayed = device.uplink(2, b"old")
    old = reception(replayed.phy_payload, frequency=replayed.frequency, dr=replayed.data_rate)
    assert handle_reception(old, world.pipeline()) == "replay"


def test_device_status_is_requested_every_n_uplinks(world: World) -> None:
    device = joined_device(world)
    mac_requests.request(str(device.dev_eui), dev_status_every_uplinks=3)
    asked = []
    for f_cnt in range(7):
        up = device.uplink(2, b"s")
        before = len(world.commands)
        handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline())
        if len(world.commands) > before:
            commands = device.downlink(base64.b64decode(_items(world)[0]["phyPayload"])).mac_commands  # type: ignore[arg-type]
            if any(isinstance(c, DevStatusReq) for c in commands):
                asked.append(f_cnt)
    assert asked == [3, 6]
    assert [e.type for e in world.events].count("status") == 1  # the second answer comes with uplink 7


def test_tx_param_setup_where_the_region_defines_it_and_not_elsewhere(world: World) -> None:
    from functions.lorawan.mac_commands import TxParamSetupReq

    region = get_region("AS923")
    eui = EUI64.parse("0004a30b001c0580")
    provision(eui, "1.0.3")
    device = otaa(eui, JOIN_EUI, region, app_key=APP_KEY, seed=5)
    request = device.join_request()
    join = reception(
        request.phy_payload, frequency=request.frequency, dr=request.data_rate, topic_prefix="as923"
    )
    assert handle_reception(join, world.pipeline()) == "joined"
    assert device.accept_join(base64.b64decode(_items(world)[0]["phyPayload"]))  # type: ignore[arg-type]
    mac_requests.request(str(eui), uplink_dwell_time=True, downlink_dwell_time=True, max_eirp=5)
    for _ in range(2):
        up = device.uplink(2, b"d")
        frame = reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate, topic_prefix="as923")
        before = len(world.commands)
        assert handle_reception(frame, world.pipeline()) == "uplink"
        if len(world.commands) > before:
            commands = device.downlink(base64.b64decode(_items(world)[0]["phyPayload"])).mac_commands  # type: ignore[arg-type]
            assert any(isinstance(c, TxParamSetupReq) for c in commands) or device.uplink_dwell_time
    session = DeviceSession.get(str(eui))
    assert device.uplink_dwell_time and session.mac_state.applied.max_eirp == 5 and session.pending_mac == {}
    eu_device = joined_device(world)  # EU868 has no TxParamSetupReq (RP002-1.0.4 §2.4)
    mac_requests.request(str(eu_device.dev_eui), uplink_dwell_time=True)
    up = eu_device.uplink(2, b"d")
    handle_reception(reception(up.phy_payload, frequency=up.frequency, dr=up.data_rate), world.pipeline())
    assert (
        DeviceSession.get(str(eu_device.dev_eui)).mac_state.failed["TxParamSetupReq"].reason == "not in EU868"
    )


def test_adr_on_us915_keeps_the_device_on_its_sub_band(world: World) -> None:
    from functions.lorawan.mac_commands import LinkADRReq

    region = get_region("US915")
    eui = EUI64.parse("0004a30b001c05a0")
    provision(eui, "1.0.3")
    device = otaa(eui, JOIN_EUI, region, app_key=APP_KEY, seed=11)
    while True:
        try:
            request = device.join_request()
        except ValueError:
            continue
        if request.channel in SUB_BAND_1:
            break
    join = reception(
        request.phy_payload, frequency=request.frequency, dr=request.data_rate, topic_prefix="us915_1"
    )
    assert handle_reception(join, world.pipeline()) == "joined"
    assert device.accept_join(base64.b64decode(_items(world)[0]["phyPayload"]))  # type: ignore[arg-type]
    requests: list[LinkADRReq] = []
    for _ in range(21):
        up = device.uplink(2, b"a")
        before = len(world.commands)
        frame = reception(
            up.phy_payload, frequency=up.frequency, dr=up.data_rate, snr=10.0, topic_prefix="us915_1"
        )
        assert handle_reception(frame, world.pipeline()) == "uplink"
        if len(world.commands) > before:
            commands = device.downlink(base64.b64decode(_items(world)[0]["phyPayload"])).mac_commands  # type: ignore[arg-type]
            requests += [c for c in commands if isinstance(c, LinkADRReq)]
    assert requests and requests[-1].data_rate == 3  # SF7/125 kHz, US915's highest ADR data rate
    assert device.data_rate == 3 and device.enabled_channels == SUB_BAND_1
    session = DeviceSession.get(str(eui))
    assert session.dr == 3 and session.mac_state.applied.enabled_channels == sorted(SUB_BAND_1)
