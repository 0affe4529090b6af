"""Basics Station's message forms, pure: identities, router_config per region, frame reassembly edge
cases, dnmsg per device class and the CUPS answer's layout (Basics Station docs, The LNS Protocol and
The CUPS Protocol)."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from functions.bridge.basicstation import cups, downlink, uplink
from functions.bridge.basicstation.ids import InvalidIdentity, parse_eui, to_dashed, to_id6
from functions.bridge.basicstation.router_config import (
    Filters,
    parse_join_eui_ranges,
    parse_net_ids,
    router_config,
)
from functions.lorawan.regions import get_region

EU868 = get_region("EU868")


@pytest.mark.parametrize(
    ("form", "eui"),
    [
        ("b827:ebff:fe6c:2a51", "b827ebfffe6c2a51"),
        ("::1", "0000000000000001"),
        ("1::", "0001000000000000"),
        ("1::2", "0001000000000002"),
        ("B8-27-EB-FF-FE-6C-2A-51", "b827ebfffe6c2a51"),
        ("b827ebfffe6c2a51", "b827ebfffe6c2a51"),
        (0xB827EBFFFE6C2A51, "b827ebfffe6c2a51"),
    ],
)
def test_identities_in_every_form(form: object, eui: str) -> None:
    assert parse_eui(form) == eui


@pytest.mark.parametrize(
    "bad", ["1:2:3", "1::2::3", "g::1", "1:2:3:4:5", "", -1, 1 << 64, True, None, "12345"]
)
def test_bad_identities(bad: object) -> None:
    with pytest.raises(InvalidIdentity):
        parse_eui(bad)


def test_identity_output_forms() -> None:
    assert to_id6("0000000000000001") == "0:0:0:1"
    assert parse_eui(to_id6("b827ebfffe6c2a51")) == "b827ebfffe6c2a51"
    assert to_dashed("b827ebfffe6c2a51") == "B8-27-EB-FF-FE-6C-2A-51"


def test_router_config_for_a_fixed_plan_sub_band_with_filters() -> None:
    config = router_config(
        "us915_1", Filters(net_ids=parse_net_ids("000013,C00053"),
                           join_eui_ranges=parse_join_eui_ranges("70b3d57ed0000000-70b3d57ed0ffffff")),
    )  # fmt: skip
    assert config["region"] == "US915" and config["freq_range"] == [902_000_000, 928_000_000]
    assert [c[0] for c in config["upchannels"]] == [903_900_000 + 200_000 * i for i in range(8)] + [
        904_600_000
    ]
    assert config["upchannels"][-1][1:] == [4, 6]  # DR5-6 are LR-FHSS: -1 (unusable) in Station's table
    assert config["DRs"][4] == [8, 500, 0] and config["DRs"][8] == [12, 500, 1]  # DR8+ downlink only
    assert config["NetID"] == [0x13, 0xC00053]
    assert config["JoinEui"] == [[0x70B3D57ED0000000, 0x70B3D57ED0FFFFFF]]
    assert config["max_eirp"] == 30.0
    assert router_config("eu868")["NetID"] is None and router_config("eu868")["JoinEui"] is None


def test_updf_without_port_and_with_options() -> None:
    message = {"msgtype": "updf", "MHdr": 0x40, "DevAddr": -1, "FCtrl": 0x82, "FCnt": 65535,
               "FOpts": "0302", "FPort": -1, "FRMPayload": "", "MIC": 1}  # fmt: skip
    assert uplink.phy_payload(message).hex() == "40ffffffff82ffff030201000000"
    with pytest.raises(uplink.InvalidUplink):
        uplink.phy_payload(message | {"FRMPayload": "00"})  # payload without a port
    with pytest.raises(uplink.InvalidUplink):
        uplink.phy_payload(message | {"FCnt": 65536})
    with pytest.raises(uplink.InvalidUplink):
        uplink.phy_payload(message | {"MIC": "1"})
    with pytest.raises(uplink.InvalidUplink):
        uplink.phy_payload({"msgtype": "dndf"})


def test_uplink_context_round_trip_and_unknown_dr() -> None:
    assert uplink.parse_context(uplink.context(0x1D00000C3E1A2B, 3)) == (0x1D00000C3E1A2B, 3)
    with pytest.raises(ValueError):
        uplink.parse_context(base64.b64encode(b"\x00\x01\x02\x03").decode())  # a UDP tmst context
    message = {"msgtype": "propdf", "FRMPayload": "e0", "DR": 9, "Freq": 868_100_000,
               "upinfo": {"xtime": 1, "rssi": -1}}  # fmt: skip
    with pytest.raises(uplink.InvalidUplink):
        uplink.uplink_frame("00", message, EU868)


def _item(timing: dict[str, object], frequency: int = 869_525_000, sf: int = 12) -> dict[str, object]:
    return {"phyPayload": base64.b64encode(b"\x60\x01").decode(),
            "txInfo": {"frequency": frequency, "timing": timing, "context": uplink.context(5_000_000, 1),
                       "modulation": {"lora": {"bandwidth": 125_000, "spreadingFactor": sf}}}}  # fmt: skip


def test_dnmsg_for_class_c_and_class_b() -> None:
    c = downlink.dnmsg(EU868, {"downlinkId": 1, "items": [_item({"immediately": {}})]}, last_rctx=2)
    assert (c.message["dC"], c.message["RX2Freq"], c.message["RX2DR"], c.message["rctx"]) == (
        2,
        869_525_000,
        0,
        2,
    )
    assert "xtime" not in c.message and "RX1Freq" not in c.message
    ping = _item({"gpsEpoch": {"timeSinceGpsEpoch": "1417.5s"}}, 869_525_000, 9)
    b = downlink.dnmsg(EU868, {"downlinkId": 2, "items": [ping]})
    assert (b.message["dC"], b.message["gpstime"], b.message["RX1DR"]) == (1, 1_417_500_000, 3)
    with pytest.raises(downlink.InvalidDownlink):
        downlink.dnmsg(EU868, {"downlinkId": 3, "items": [_item({"delay": {"delay": "1s"}}, sf=6)]})
    with pytest.raises(downlink.InvalidDownlink):
        downlink.dnmsg(EU868, {"downlinkId": 4, "items": [_item({"later": {}})]})
    ack = downlink.tx_ack("gw", c, {"Freq": 869_525_000, "DR": 0}, 1)
    assert ack["items"] == [{"status": "OK"}]


def test_cups_answer_layout_sends_only_what_changed() -> None:
    trust = bytes.fromhex("3003020100")  # any DER SEQUENCE
    creds = cups.credentials(trust, "tok")
    assert creds == trust + bytes(4) + b"Authorization: Bearer tok\r\n"
    body = cups.update_info_response(cups_uri="https://c:443", tc_uri="wss://l:8887", request={},
                                     cups_cred=creds, tc_cred=creds)  # fmt: skip
    assert body[0] == 13 and body[1:14] == b"https://c:443"
    assert body[14] == 12 and body[15:27] == b"wss://l:8887"
    (length,) = struct.unpack_from("<H", body, 27)
    assert length == len(creds) and body[29 : 29 + length] == creds
    unchanged = {"cupsUri": "https://c:443", "tcUri": "wss://l:8887", "cupsCredCrc": zlib.crc32(creds),
                 "tcCredCrc": zlib.crc32(creds)}  # fmt: skip
    body = cups.update_info_response(cups_uri="https://c:443", tc_uri="wss://l:8887", request=unchanged,
                                     cups_cred=creds, tc_cred=creds)  # fmt: skip
    assert body == bytes([0, 0]) + bytes(2) + bytes(2) + bytes(4) + bytes(4)
