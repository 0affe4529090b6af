"""Semtech UDP parsing and the JSON conversions, against PROTOCOL.TXT's examples and the chirpstack-api
protobuf classes (an independent reading of ChirpStack's JSON)."""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from chirpstack_api import gw
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.bridge import convert, semtech

VECTORS = {
    v["id"]: v
    for v in json.loads((Path(__file__).parent.parent / "vectors" / "semtech_udp.json").read_text())[
        "semtech_udp"
    ]
}
GATEWAY = "0102030405060708"


def as_proto(message: dict[str, Any], cls: type) -> Any:
    """Parse with unknown fields refused: every field we emit must exist in ChirpStack's schema."""
    return json_format.ParseDict(message, cls(), ignore_unknown_fields=False)


def test_header_layouts_of_protocol_txt() -> None:
    push = semtech.push_data(2, 0xBEEF, GATEWAY, {"rxpk": []})
    assert push[0] == 2 and push[3] == semtech.PacketType.PUSH_DATA and push[4:12].hex() == GATEWAY
    assert semtech.push_ack(2, 0xBEEF) == b"\x02" + struct.pack("<H", 0xBEEF) + b"\x01"
    assert semtech.pull_ack(2, 7) == b"\x02\x07\x00\x04"
    pull_resp = semtech.pull_resp(2, 9, {"imme": True})
    assert pull_resp[:4] == b"\x02\x09\x00\x03" and json.loads(pull_resp[4:]) == {"txpk": {"imme": True}}
    assert semtech.pull_resp(1, 9, {})[1:3] == b"\x00\x00"  # v1: no token in PULL_RESP


def test_parse_every_gateway_packet_type() -> None:
    packet = semtech.parse_gateway_datagram(
        semtech.push_data(2, 1, GATEWAY, {"rxpk": [{"a": 1}], "stat": {"rxnb": 1}})
    )
    assert packet == semtech.PushData(2, 1, GATEWAY, [{"a": 1}], {"rxnb": 1})
    assert semtech.parse_gateway_datagram(semtech.pull_data(1, 2, GATEWAY)) == semtech.PullData(1, 2, GATEWAY)
    ack = semtech.parse_gateway_datagram(semtech.tx_ack(2, 3, GATEWAY, "COLLISION_PACKET"))
    assert ack == semtech.TxAck(2, 3, GATEWAY, "COLLISION_PACKET")
    empty = semtech.parse_gateway_datagram(b"\x02\x03\x00\x05" + bytes.fromhex(GATEWAY))
    assert empty == semtech.TxAck(2, 3, GATEWAY, "NONE")


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", "too_short"),
        (b"\x02\x00", "too_short"),
        (b"\x03\x00\x00\x00" + bytes(8) + b"{}", "unsupported_version"),
        (b"\x02\x00\x00\x09" + bytes(8), "unknown_packet_type"),
        (b"\x02\x00\x00\x01", "unexpected_direction"),
        (b"\x02\x00\x00\x00\x01\x02", "too_short"),
        (b"\x02\x00\x00\x00" + bytes(8) + b"{not json", "invalid_json"),
        (b"\x02\x00\x00\x00" + bytes(8) + b"[1]", "invalid_json"),
        (b"\x02\x00\x00\x00" + bytes(8) + b'{"rxpk": {}}', "invalid_json"),
        (b"\x02\x00\x00\x00" + bytes(8) + b"\xff\xfe", "invalid_json"),
    ],
)
def test_bad_datagrams_raise_their_reason(datagram: bytes, reason: str) -> None:
    with pytest.raises(semtech.SemtechError) as error:
        semtech.parse_gateway_datagram(datagram)
    assert error.value.reason == reason


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_only_semtech_errors(datagram: bytes) -> None:
    try:
        packet = semtech.parse_gateway_datagram(datagram)
    except semtech.SemtechError:
        return
    if isinstance(packet, semtech.PushData):
        for rxpk in packet.rxpk:
            with contextlib.suppress(convert.ConversionError):
                convert.uplink_frames(packet.gateway_id, rxpk)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
RXPK_KEYS = [
    "time", "tmst", "tmms", "chan", "rfch", "freq", "stat", "modu",
    "datr", "codr", "rssi", "lsnr", "size", "data", "rsig", "brd",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(RXPK_KEYS), JSON, max_size=14),
    st.dictionaries(
        st.sampled_from(["time", "lati", "long", "alti", "rxnb", "rxok", "dwnb", "txnb", "temp"]),
        JSON,
        max_size=9,
    ),
)
def test_any_json_in_rxpk_or_stat_gives_frames_or_a_conversion_error(
    rxpk: dict[str, Any], stat: dict[str, Any]
) -> None:
    for convert_one in (
        lambda: convert.uplink_frames(GATEWAY, rxpk),
        lambda: convert.gateway_stats(GATEWAY, stat),
    ):
        try:
            result = convert_one()
        except convert.ConversionError:
            continue
        json.dumps(result)


@pytest.mark.parametrize("vector_id", ["udp-rxpk-lora-3", "udp-rxpk-fsk"])
def test_protocol_txt_rxpk_examples_become_chirpstack_uplink_frames(vector_id: str) -> None:
    rxpk = VECTORS[vector_id]["json"]
    (frame,) = convert.uplink_frames(GATEWAY, rxpk, uplink_id=42)
    message = as_proto(frame, gw.UplinkFrame)
    assert base64.b64encode(message.phy_payload).decode().rstrip("=") == rxpk["data"].rstrip("=")
    assert len(message.phy_payload) == rxpk["size"]
    assert message.tx_info.frequency == round(rxpk["freq"] * 1e6)
    assert message.rx_info.gateway_id == GATEWAY and message.rx_info.uplink_id == 42
    assert message.rx_info.rssi == rxpk["rssi"]
    assert message.rx_info.channel == rxpk["chan"] and message.rx_info.rf_chain == rxpk["rfch"]
    assert int.from_bytes(message.rx_info.context, "big") == rxpk["tmst"]
    assert message.rx_info.gw_time.ToJsonString().startswith(rxpk["time"][:19])
    assert message.rx_info.crc_status == gw.CRC_OK
    if rxpk["modu"] == "LORA":
        assert message.tx_info.modulation.lora.spreading_factor == 10
        assert message.tx_info.modulation.lora.bandwidth == 125000
        assert message.tx_info.modulation.lora.code_rate == gw.CR_4_7
        assert message.rx_info.snr == pytest.approx(rxpk["lsnr"])
    else:
        assert message.tx_info.modulation.fsk.datarate == 50000


def test_the_non_base64_example_of_protocol_txt_is_refused() -> None:
    with pytest.raises(convert.ConversionError):
        convert.uplink_frames(GATEWAY, VECTORS["udp-rxpk-lora-1"]["json"])


def test_multi_antenna_rsig_gives_one_frame_per_antenna() -> None:
    rxpk = dict(VECTORS["udp-rxpk-lora-3"]["json"])
    rxpk["rsig"] = [
        {"ant": 0, "chan": 3, "rssic": -40, "lsnr": 6.0},
        {"ant": 1, "chan": 3, "rssic": -60, "lsnr": -2.5},
    ]
    frames = [as_proto(f, gw.UplinkFrame) for f in convert.uplink_frames(GATEWAY, rxpk)]
    assert [(m.rx_info.antenna, m.rx_info.rssi, m.rx_info.snr) for m in frames] == [
        (0, -40, 6.0),
        (1, -60, -2.5),
    ]


def test_protocol_txt_stat_becomes_gateway_stats() -> None:
    stats = as_proto(convert.gateway_stats(GATEWAY, VECTORS["udp-stat"]["json"]), gw.GatewayStats)
    assert stats.time.ToJsonString() == "2014-01-12T08:59:28Z"
    assert (stats.location.latitude, stats.location.longitude, stats.location.altitude) == (
        46.24,
        3.2523,
        145,
    )
    assert (stats.rx_packets_received, stats.rx_packets_received_ok) == (2, 2)
    assert (stats.tx_packets_received, stats.tx_packets_emitted) == (2, 2)


def test_connection_state_names_offline_explicitly() -> None:
    assert as_proto(convert.connection_state(GATEWAY, False), gw.ConnState).state == gw.ConnState.OFFLINE
    assert as_proto(convert.connection_state(GATEWAY, True), gw.ConnState).state == gw.ConnState.ONLINE


def _downlink_frame(timing: dict[str, Any]) -> dict[str, Any]:
    """Built with chirpstack-api's classes, so the input shape is ChirpStack's own."""
    frame = gw.DownlinkFrame(downlink_id=3840542466, gateway_id=GATEWAY)
    item = frame.items.add()
    item.phy_payload = bytes.fromhex("60abcdef01")
    item.tx_info.frequency = 868_100_000
    item.tx_info.power = 14
    item.tx_info.modulation.lora.bandwidth = 125000
    item.tx_info.modulation.lora.spreading_factor = 7
    item.tx_info.modulation.lora.polarization_inversion = True
    item.tx_info.modulation.lora.code_rate = gw.CR_4_5
    item.tx_info.context = (3512348611).to_bytes(4, "big")
    json_format.ParseDict({"timing": timing}, item.tx_info)
    return json_format.MessageToDict(frame)


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        ({"delay": {"delay": "1s"}}, {"tmst": 3513348611}),
        ({"delay": {"delay": "5s"}}, {"tmst": 3517348611}),
        ({"immediately": {}}, {"imme": True}),
        ({"gpsEpoch": {"timeSinceGpsEpoch": "1386584470.500s"}}, {"tmms": 1386584470500}),
    ],
)
def test_chirpstack_downlink_frames_become_txpk(timing: dict[str, Any], expected: dict[str, Any]) -> None:
    downlink_id, items = convert.downlink_items(_downlink_frame(timing))
    assert downlink_id == 3840542466
    txpk = convert.txpk(items[0])
    assert txpk == {
        "freq": 868.1, "rfch": 0, "powe": 14, "size": 5,
        "data": base64.b64encode(bytes.fromhex("60abcdef01")).decode(),
        "modu": "LORA", "datr": "SF7BW125", "codr": "4/5", "ipol": True, **expected,
    }  # fmt: skip


def test_a_delay_wraps_the_32_bit_counter() -> None:
    frame = _downlink_frame({"delay": {"delay": "2s"}})
    frame["items"][0]["txInfo"]["context"] = base64.b64encode((0xFFFFFFFF - 10).to_bytes(4, "big")).decode()
    assert convert.txpk(frame["items"][0])["tmst"] == 2_000_000 - 11


def test_tx_ack_statuses_are_chirpstack_enum_names() -> None:
    for error in semtech_errors():
        status = convert.tx_ack_status(error)
        ack = as_proto(convert.downlink_tx_ack(GATEWAY, 1, [status, "IGNORED"]), gw.DownlinkTxAck)
        assert gw.TxAckStatus.Name(ack.items[0].status) == status
    assert convert.tx_ack_status("") == "OK" and convert.tx_ack_status("SOMETHING_NEW") == "INTERNAL_ERROR"


def semtech_errors() -> list[str]:
    return list(VECTORS["udp-txpk-ack"]["allowed_error_values"])


@pytest.mark.parametrize(
    "frame",
    [
        {"items": []},
        {"items": "x"},
        {"downlinkId": "1", "items": [{}]},
    ],
)
def test_malformed_downlink_frames(frame: dict[str, Any]) -> None:
    with pytest.raises(semtech.SemtechError):
        convert.downlink_items(frame)


@pytest.mark.parametrize(
    "item",
    [
        {},
        {"phyPayload": "!!", "txInfo": {}},
        {"phyPayload": "YA==", "txInfo": {"frequency": 868100000, "modulation": {"lora": {}}}},
        {"phyPayload": "YA==", "txInfo": {"frequency": 868100000, "modulation": {"x": {}}, "timing": {}}},
    ],
)
def test_malformed_downlink_items(item: dict[str, Any]) -> None:
    with pytest.raises(convert.ConversionError):
        convert.txpk(item)
