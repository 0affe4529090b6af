"""Pure parts of the network server's MAC layer and scheduling: fitting commands into a downlink, the
US915/AU915 sub-band of a topic prefix, gateway usability, GPS time, pending requests round-tripping."""

from __future__ import annotations

import pytest

from functions.lorawan.mac_commands import (
    DevStatusReq,
    LinkADRReq,
    LinkCheckAns,
    NewChannelReq,
    RXParamSetupReq,
    TxParamSetupReq,
)
from functions.lorawan.regions import get_region
from functions.network.mac.units import Unit, command_from_dict, fit
from functions.network.models import Gateway
from functions.network.receptions import InvalidUplinkEvent, gps_time_s, sub_band_channels
from functions.network.scheduling import TOO_LATE_KEY, gateway_usable


def test_fit_keeps_order_and_whole_units_and_never_exceeds_the_capacity() -> None:
    answer = Unit("LinkCheckAns", [LinkCheckAns(margin=10, gw_cnt=1)])  # 3 octets
    block = Unit("LinkADRReq", [LinkADRReq(3, 1, 0xFF, 0, 1), LinkADRReq(3, 1, 0x01, 7, 1)], {})  # 10
    channel = Unit("NewChannelReq", [NewChannelReq(3, 867_100_000, 5, 0)], {})  # 6
    status = Unit("DevStatusReq", [DevStatusReq()], {})  # 1
    included, left = fit([answer, block, channel, status], 15)
    assert [u.name for u in included] == ["LinkCheckAns", "LinkADRReq", "DevStatusReq"]
    assert [u.name for u in left] == ["NewChannelReq"]
    assert sum(u.size for u in included) == 14
    assert fit([block], 9) == ([], [block])  # a LinkADRReq block goes whole or not at all


@pytest.mark.parametrize(
    ("prefix", "channels"),
    [
        ("us915_0", set(range(8)) | {64}),
        ("us915_1", set(range(8, 16)) | {65}),
        ("au915_7", set(range(56, 64)) | {71}),
        ("us915", None),
        ("eu868", None),
    ],
)
def test_sub_band_channels_follow_chirpstack_region_configurations(
    prefix: str, channels: set[int] | None
) -> None:
    region = get_region(prefix.split("_", maxsplit=1)[0])
    assert sub_band_channels(prefix, region) == (frozenset(channels) if channels is not None else None)


def test_a_sub_band_that_does_not_exist_is_invalid() -> None:
    with pytest.raises(InvalidUplinkEvent):
        sub_band_channels("us915_8", get_region("US915"))


def test_gateway_usability() -> None:
    now = 1_700_000_000.0
    assert gateway_usable(None, now)  # never heard of: it just sent us a frame
    assert gateway_usable(Gateway("01", online=True, last_seen_at=int(now)), now)
    assert not gateway_usable(Gateway("01", online=False, last_seen_at=int(now)), now)  # taken offline
    assert gateway_usable(Gateway("01", online=False, last_seen_at=0), now)  # no state seen yet
    late = Gateway("01", online=True, last_seen_at=int(now), stats={TOO_LATE_KEY: int(now) - 60})
    assert not gateway_usable(late, now) and gateway_usable(late, now + 600)


def test_gps_time_of_a_reception() -> None:
    assert gps_time_s({"timeSinceGpsEpoch": "1386584466.123s"}) == 1386584466.123
    assert gps_time_s({}) is None and gps_time_s({"timeSinceGpsEpoch": "soon"}) is None


@pytest.mark.parametrize(
    "command",
    [LinkADRReq(5, 2, 0x07, 0, 1), RXParamSetupReq(1, 3, 869_525_000), TxParamSetupReq(True, False, 5)],
    ids=lambda c: c.NAME,
)
def test_pending_requests_round_trip_through_json(command: object) -> None:
    assert command_from_dict(command.to_dict()) == command  # type: ignore[attr-defined]
