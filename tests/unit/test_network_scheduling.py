"""Class A / class C downlink scheduling against every region and the chirpstack-api protobuf as an oracle.

RP002-1.0.4 §2.x.7 (receive windows), LoRaWAN 1.0.4 §5 (RX1/RX2), ChirpStack gw.DownlinkFrame.
"""

from __future__ import annotations

import base64

import pytest
from chirpstack_api.gw import gw_pb2
from google.protobuf import json_format

from functions.lorawan.regions import ALL_REGIONS, Region
from functions.network.receptions import Reception
from functions.network.scheduling import (
    RxParameters,
    Windows,
    best_reception,
    class_a_downlink,
    class_c_downlink,
    command_topic,
    heard_at_s,
    reachable_windows,
)


def _reception(
    region: Region, *, gateway_id: str = "0102030405060708", snr: float = 5.0, rssi: int = -80
) -> Reception:
    channel = region.uplink_channels()[0]
    return Reception(
        phy_payload=b"\x40" + bytes(12),
        gateway_id=gateway_id,
        topic_prefix=region.id,
        uplink_id=1,
        frequency=channel.frequency,
        data_rate=channel.min_dr,
        rssi=rssi,
        snr=snr,
        context=base64.b64encode(b"\x00\x00\x10\x00").decode(),
        received_at_ms=0,
    )


@pytest.mark.parametrize("region", ALL_REGIONS, ids=lambda r: r.name)
def test_class_a_frame_parses_as_chirpstack_downlink_frame(region: Region) -> None:
    reception = _reception(region)
    rx = RxParameters(rx1_delay_s=3, rx1_dr_offset=0, rx2_dr=region.rx2.dr, rx2_frequency=0)
    frame = class_a_downlink(region, reception, b"\x60\x01\x02", rx, downlink_id=7)
    parsed = json_format.Parse(
        __import__("json").dumps(frame), gw_pb2.DownlinkFrame()
    )  # unknown fields raise
    assert parsed.downlink_id == 7
    assert parsed.gateway_id == reception.gateway_id
    assert len(parsed.items) == 2
    rx1, rx2 = parsed.items
    assert rx1.phy_payload == rx2.phy_payload == b"\x60\x01\x02"
    assert rx1.tx_info.frequency == region.rx1_frequency(reception.frequency)
    assert rx2.tx_info.frequency == region.rx2.frequency
    assert rx1.tx_info.timing.delay.delay.seconds == 3
    assert rx2.tx_info.timing.delay.delay.seconds == 4
    assert rx1.tx_info.context == base64.b64decode(reception.context)
    rx1_dr = region.data_rate(region.rx1_data_rate(reception.data_rate, 0)).modulation
    if rx1.tx_info.modulation.WhichOneof("parameters") == "lora":
        assert rx1.tx_info.modulation.lora.spreading_factor == rx1_dr.spreading_factor  # type: ignore[union-attr]
        assert rx1.tx_info.modulation.lora.polarization_inversion


@pytest.mark.parametrize("region", ALL_REGIONS, ids=lambda r: r.name)
def test_class_c_frame_is_immediate_on_rx2(region: Region) -> None:
    rx = RxParameters(rx1_delay_s=3, rx1_dr_offset=0, rx2_dr=region.rx2.dr, rx2_frequency=0)
    frame = class_c_downlink(region, "aabbccddeeff0011", b"\xa0", rx, downlink_id=9)
    parsed = json_format.Parse(__import__("json").dumps(frame), gw_pb2.DownlinkFrame())
    (item,) = parsed.items
    assert item.tx_info.frequency == region.rx2.frequency
    assert item.tx_info.timing.WhichOneof("parameters") == "immediately"


def test_rx2_profile_frequency_overrides_region_default() -> None:
    region = ALL_REGIONS[0]
    rx = RxParameters(rx1_delay_s=5, rx1_dr_offset=0, rx2_dr=region.rx2.dr, rx2_frequency=869_525_000)
    frame = class_a_downlink(region, _reception(region), b"\x60", rx)
    assert frame["items"][1]["txInfo"]["frequency"] == 869_525_000
    assert frame["items"][1]["txInfo"]["timing"]["delay"]["delay"] == "6s"


def test_best_reception_prefers_snr_then_rssi_and_topic() -> None:
    region = ALL_REGIONS[0]
    weak = _reception(region, gateway_id="01", snr=-5.0, rssi=-60)
    strong = _reception(region, gateway_id="02", snr=7.5, rssi=-110)
    tie = _reception(region, gateway_id="03", snr=7.5, rssi=-90)
    assert best_reception([weak, strong]).gateway_id == "02"
    assert best_reception([weak, strong, tie]).gateway_id == "03"
    assert command_topic(tie) == f"{region.id}/gateway/03/command/down"


@pytest.mark.parametrize(
    ("elapsed_s", "expected"),
    [
        (0.0, Windows(rx1=True, rx2=True)),
        (2.5, Windows(rx1=True, rx2=True)),  # exactly the margin before RX1 opens
        (2.6, Windows(rx1=False, rx2=True)),
        (3.5, Windows(rx1=False, rx2=True)),
        (3.6, Windows(rx1=False, rx2=False)),
    ],
)
def test_a_window_is_reachable_until_the_margin_before_it_opens(elapsed_s: float, expected: Windows) -> None:
    heard_at = 1_700_000_000.0
    windows = reachable_windows(heard_at, 3, heard_at + elapsed_s, 0.5)
    assert windows == expected and windows.any == expected.rx2


def test_the_frame_arrived_with_its_earliest_reception_and_without_one_both_windows_stay() -> None:
    region = ALL_REGIONS[0]
    first = _reception(region)
    receptions = [
        Reception(**{**first.__dict__, "received_at_ms": 1_700_000_000_300}),
        Reception(**{**first.__dict__, "received_at_ms": 1_700_000_000_100}),
        first,  # no rule timestamp: ignored
    ]
    assert heard_at_s(receptions) == 1_700_000_000.1
    assert heard_at_s([first]) is None
    assert reachable_windows(None, 1, 1e12, 0.5) == Windows(rx1=True, rx2=True)


def test_a_gps_locked_gateways_own_time_counts_when_earlier_than_the_rule() -> None:
    """A frame a backhaul or broker held is stamped late by the rule; a GPS-locked gateway (it reports
    `timeSinceGpsEpoch`) says when it was heard. Without GPS its clock is not trusted."""
    base = _reception(ALL_REGIONS[0])
    held = {"gwTime": "2023-11-14T22:13:14.5Z", "timeSinceGpsEpoch": "1384034012.5s"}  # 5.5 s before
    at_rule = 1_700_000_000_000
    gps = Reception(**{**base.__dict__, "received_at_ms": at_rule, "rx_info": held})
    assert heard_at_s([gps]) == 1_699_999_994.5
    no_gps = Reception(**{**base.__dict__, "received_at_ms": at_rule, "rx_info": {"gwTime": held["gwTime"]}})
    assert heard_at_s([no_gps]) == 1_700_000_000.0
    ahead = {"gwTime": "2023-11-14T22:13:30Z", "timeSinceGpsEpoch": "1384034028s"}  # later than the rule
    assert heard_at_s([Reception(**{**base.__dict__, "received_at_ms": at_rule, "rx_info": ahead})]) == 1.7e9


@pytest.mark.parametrize("region", ALL_REGIONS, ids=lambda r: r.name)
def test_an_rx2_only_frame_parses_as_chirpstack_downlink_frame(region: Region) -> None:
    reception = _reception(region)
    rx = RxParameters(rx1_delay_s=3, rx1_dr_offset=0, rx2_dr=region.rx2.dr, rx2_frequency=0)
    frame = class_a_downlink(region, reception, b"\x60\x01\x02", rx, downlink_id=7, rx1=False)
    parsed = json_format.Parse(__import__("json").dumps(frame), gw_pb2.DownlinkFrame())
    (rx2,) = parsed.items
    assert rx2.tx_info.frequency == region.rx2.frequency
    assert rx2.tx_info.timing.delay.delay.seconds == 4
    with pytest.raises(ValueError, match="at least one"):
        class_a_downlink(region, reception, b"\x60", rx, rx1=False, rx2=False)
