"""The reference end-device against a network side built from the protocol core (and lora-packet for
its uplinks): joins 1.0.3 and 1.1, uplinks, downlinks with MAC commands, ACKs, replays."""

from __future__ import annotations

import pytest

from functions.lorawan import security
from functions.lorawan.device import EndDevice, EndDeviceSession, abp, otaa
from functions.lorawan.errors import FrameCounterReplay, InvalidMIC
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest
from functions.lorawan.keys import join_server_keys, session_keys_1_0, session_keys_1_1
from functions.lorawan.mac_commands import (
    DevStatusAns,
    DevStatusReq,
    LinkADRAns,
    LinkADRReq,
    LinkCheckAns,
    RekeyInd,
    decode_mac_commands,
    encode_mac_commands,
)
from functions.lorawan.phypayload import MType, PHYPayload
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from tests.oracles import lora_packet

APP_KEY = AES128Key.parse("2b7e151628aed2a6abf7158809cf4f3c")
NWK_KEY = AES128Key.parse("000102030405060708090a0b0c0d0e0f")
DEV_EUI = EUI64.parse("0004a30b001c0530")
JOIN_EUI = EUI64.parse("70b3d57ed0000001")
NET_ID = NetID.parse("000013")
DEV_ADDR = DevAddr.parse("26011bda")
EU868 = get_region("EU868")


def join(device: EndDevice, *, opt_neg: bool, cf_list: bytes | None = None) -> tuple[JoinRequest, int]:
    """Play the network and join server: check the JoinRequest, answer with a JoinAccept."""
    uplink = device.join_request()
    phy = PHYPayload.from_bytes(uplink.phy_payload)
    request = phy.payload
    assert isinstance(request, JoinRequest)
    root = NWK_KEY if device.lorawan_1_1 else APP_KEY
    security.verify(security.join_request_mic(phy, root), phy.mic)
    accept = JoinAccept(
        0x0A0B0C, NET_ID, DEV_ADDR, DLSettings(opt_neg=opt_neg, rx1_dr_offset=1, rx2_dr=3), 5, cf_list
    )
    if opt_neg:
        js = join_server_keys(NWK_KEY, DEV_EUI)
        sealed = security.seal_join_accept(
            accept,
            encryption_key=NWK_KEY,
            mic_key=js.js_int_key,
            join_eui=JOIN_EUI,
            dev_nonce=request.dev_nonce,
        )
    else:
        sealed = security.seal_join_accept(accept, encryption_key=root, mic_key=root)
    assert device.accept_join(sealed.to_bytes())
    return request, accept.join_nonce


def test_otaa_1_0_3_join_derives_the_networks_keys_and_settings() -> None:
    device = otaa(DEV_EUI, JOIN_EUI, EU868, app_key=APP_KEY, seed=1)
    request, join_nonce = join(
        device, opt_neg=False, cf_list=bytes.fromhex("184f84e85684b85e84886684586e84" + "00")
    )
    keys = session_keys_1_0(APP_KEY, join_nonce, NET_ID, request.dev_nonce)
    assert device.session is not None
    assert device.session.nwk_s_key == keys.nwk_s_key and device.session.app_s_key == keys.app_s_key
    assert device.session.dev_addr == DEV_ADDR
    assert (device.rx1_dr_offset, device.rx2_data_rate, device.rx1_delay) == (1, 3, 5)
    assert device.channels[3].frequency == 867_100_000 and len(device.enabled_channels) == 8


def test_a_join_accept_with_the_wrong_key_is_ignored() -> None:
    device = otaa(DEV_EUI, JOIN_EUI, EU868, app_key=APP_KEY, seed=1)
    device.join_request()
    forged = security.seal_join_accept(
        JoinAccept(1, NET_ID, DEV_ADDR, DLSettings(), 1), encryption_key=NWK_KEY, mic_key=NWK_KEY
    )
    assert device.accept_join(forged.to_bytes()) is False
    assert device.session is None


def test_dev_nonce_counts_up() -> None:
    device = otaa(DEV_EUI, JOIN_EUI, EU868, app_key=APP_KEY, seed=1)
    nonces = []
    for _ in range(3):
        payload = PHYPayload.from_bytes(device.join_request().phy_payload).payload
        assert isinstance(payload, JoinRequest)
        nonces.append(payload.dev_nonce)
    assert nonces == [0, 1, 2]


def test_otaa_1_1_join_and_rekey_indication() -> None:
    device = otaa(DEV_EUI, JOIN_EUI, EU868, app_key=APP_KEY, nwk_key=NWK_KEY, lorawan_version="1.1.0", seed=2)
    request, join_nonce = join(device, opt_neg=True)
    keys = session_keys_1_1(NWK_KEY, APP_KEY, join_nonce, JOIN_EUI, request.dev_nonce)
    session = device.session
    assert session is not None and session.lorawan_1_1
    assert (session.s_nwk_s_int_key, session.nwk_s_enc_key) == (keys.s_nwk_s_int_key, keys.nwk_s_enc_key)
    uplink = device.uplink(1, b"hi")
    phy = PHYPayload.from_bytes(uplink.phy_payload)
    mic = security.uplink_mic_1_1(
        phy, keys.f_nwk_s_int_key, keys.s_nwk_s_int_key, 0, tx_dr=uplink.data_rate, tx_ch=uplink.channel
    )
    assert mic == phy.mic
    f_opts = security.decrypt_f_opts(phy, keys.nwk_s_enc_key, 0)
    assert decode_mac_commands(f_opts, uplink=True) == [RekeyInd(minor=1)]


def _abp(version: str = "1.0.3") -> EndDevice:
    keys = session_keys_1_0(APP_KEY, 1, NET_ID, 1)
    return abp(DEV_EUI, EU868, EndDeviceSession.from_1_0(DEV_ADDR, keys), lorawan_version=version, seed=3)


def _downlink(
    device: EndDevice, *, f_cnt: int, f_opts: bytes = b"", confirmed: bool = False, ack: bool = False
) -> bytes:
    session = device.session
    assert session is not None
    m_type = MType.ConfirmedDataDown if confirmed else MType.UnconfirmedDataDown
    phy = security.data_frame(
        m_type, FHDR(DEV_ADDR, FCtrl(ack=ack), f_cnt, f_opts), f_port=2, frm_payload=b"\x01"
    )
    phy = security.encrypt_data_frame(
        phy, f_cnt=f_cnt, app_s_key=session.app_s_key, nwk_s_enc_key=session.nwk_s_enc_key, lorawan_1_1=False
    )
    return phy.with_mic(security.data_mic_1_0(phy, session.nwk_s_key, f_cnt)).to_bytes()


def test_uplinks_verify_at_the_network_and_count_up() -> None:
    device = _abp()
    session = device.session
    assert session is not None
    for expected in range(3):
        uplink = device.uplink(10, b"\x01\x02\x03")
        phy = PHYPayload.from_bytes(uplink.phy_payload)
        assert phy.mac_payload.fhdr.f_cnt == expected == uplink.f_cnt
        assert security.data_mic_1_0(phy, session.nwk_s_key, expected) == phy.mic
        assert security.decrypt_frm_payload(phy, session.app_s_key, expected) == b"\x01\x02\x03"
        assert uplink.channel in (0, 1, 2) and uplink.frequency in (868_100_000, 868_300_000, 868_500_000)


def test_mac_commands_in_a_downlink_are_answered_in_the_next_uplink() -> None:
    device = _abp()
    device.battery = 200
    requests = [
        LinkADRReq(data_rate=5, tx_power=2, ch_mask=0b011, ch_mask_cntl=0, nb_trans=1),
        DevStatusReq(),
    ]
    device.downlink(_downlink(device, f_cnt=0, f_opts=encode_mac_commands(requests)), snr=7.4)
    assert (device.data_rate, device.tx_power_index, device.enabled_channels) == (5, 2, frozenset({0, 1}))
    phy = PHYPayload.from_bytes(device.uplink(1, b"x").phy_payload)
    answers = decode_mac_commands(phy.mac_payload.fhdr.f_opts, uplink=True)
    assert answers == [
        LinkADRAns(channel_mask_ack=True, data_rate_ack=True, power_ack=True),
        DevStatusAns(battery=200, margin=7),
    ]


def test_an_impossible_channel_mask_is_refused_and_changes_nothing() -> None:
    device = _abp()
    request = LinkADRReq(data_rate=5, tx_power=2, ch_mask=0b1000_0000, ch_mask_cntl=0, nb_trans=1)
    device.downlink(_downlink(device, f_cnt=0, f_opts=request.to_bytes()))
    assert device.pending_answers == [LinkADRAns(channel_mask_ack=False, data_rate_ack=True, power_ack=True)]
    assert (device.data_rate, device.enabled_channels) == (0, frozenset({0, 1, 2}))


def test_confirmed_downlink_is_acknowledged_and_link_check_answer_kept() -> None:
    device = _abp()
    device.downlink(
        _downlink(device, f_cnt=4, confirmed=True, f_opts=LinkCheckAns(margin=20, gw_cnt=3).to_bytes())
    )
    assert device.link_check == (20, 3)
    phy = PHYPayload.from_bytes(device.uplink(1, b"x").phy_payload)
    assert phy.mac_payload.fhdr.f_ctrl.ack is True
    assert PHYPayload.from_bytes(device.uplink(1, b"x").phy_payload).mac_payload.fhdr.f_ctrl.ack is False


def test_replayed_or_forged_downlinks_are_dropped() -> None:
    device = _abp()
    frame = _downlink(device, f_cnt=7)
    device.downlink(frame)
    with pytest.raises(FrameCounterReplay):
        device.downlink(frame)
    tampered = bytearray(_downlink(device, f_cnt=8))
    tampered[-1] ^= 1
    with pytest.raises(InvalidMIC):
        device.downlink(bytes(tampered))


def test_adr_ack_req_after_adr_ack_limit_uplinks_without_downlink() -> None:
    device = _abp()
    flags = [
        PHYPayload.from_bytes(device.uplink(1).phy_payload).mac_payload.fhdr.f_ctrl.adr_ack_req
        for _ in range(65)
    ]
    assert flags[62] is False and flags[63] is True and flags[64] is True
    device.data_rate = 5
    for _ in range(32):
        device.uplink(1)
    assert device.data_rate == 4  # one step down after ADR_ACK_DELAY more uplinks


@pytest.mark.oracle
@pytest.mark.skipif(not lora_packet.available(), reason="node and lora-packet are needed")
def test_lora_packet_accepts_the_devices_uplinks() -> None:
    device = _abp()
    session = device.session
    assert session is not None
    frames = [device.uplink(5, bytes([i]) * (i + 1), confirmed=i % 2 == 0).phy_payload for i in range(20)]
    results = lora_packet.run(
        [{"op": "mic", "phy": f.hex(), "nwk_s_key": session.nwk_s_key.hex()} for f in frames]
        + [{"op": "decrypt", "phy": f.hex(), "app_s_key": session.app_s_key.hex()} for f in frames]
    )
    for i, frame in enumerate(frames):
        assert results[i]["ok"] == frame[-4:].hex()
        assert results[20 + i]["ok"] == (bytes([i]) * (i + 1)).hex()


def test_join_requests_use_every_join_channel_of_us915_and_au915_at_a_valid_data_rate() -> None:
    """The 500 kHz join channels (US915 64-71: DR4; AU915: DR6) are above ADR's range yet valid for joins."""
    from functions.lorawan.regions import get_region

    for name, wide_dr in (("US915", 4), ("AU915", 6)):
        region = get_region(name)
        device = otaa(EUI64(bytes(8)), EUI64(bytes(8)), region, app_key=AES128Key(bytes(16)), seed=1)
        seen = set()
        for _ in range(2000):
            uplink = device.join_request()
            channel = region.join_channel_list[uplink.channel]
            assert channel.min_dr <= uplink.data_rate <= channel.max_dr
            if channel.min_dr == channel.max_dr:
                assert uplink.data_rate == wide_dr
            seen.add(uplink.channel)
        assert len(seen) == len(region.join_channel_list)
