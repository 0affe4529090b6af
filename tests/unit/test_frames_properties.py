"""Property-based round trips for every frame type, and a fuzz of every decoder: random bytes raise
only the library's own errors."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.lorawan import crypto, security
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest, RejoinRequest
from functions.lorawan.macpayload import MACPayload
from functions.lorawan.phypayload import MHDR, EncryptedJoinAccept, MType, PHYPayload, ProprietaryPayload
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID

eui = st.binary(min_size=8, max_size=8).map(EUI64)
keys = st.binary(min_size=16, max_size=16).map(AES128Key)
dev_addr = st.binary(min_size=4, max_size=4).map(DevAddr)
mic = st.binary(min_size=4, max_size=4)


@st.composite
def data_frames(draw: st.DrawFn) -> PHYPayload:
    m_type = draw(st.sampled_from([m for m in MType if m.is_data]))
    f_port = draw(st.one_of(st.none(), st.integers(0, 255)))
    f_opts = b"" if f_port == 0 else draw(st.binary(max_size=15))
    uplink = m_type.uplink
    f_ctrl = FCtrl(
        adr=draw(st.booleans()),
        adr_ack_req=draw(st.booleans()) if uplink else False,
        ack=draw(st.booleans()),
        f_pending=False if uplink else draw(st.booleans()),
        class_b=draw(st.booleans()) if uplink else False,
        f_opts_len=len(f_opts),
    )
    fhdr = FHDR(draw(dev_addr), f_ctrl, draw(st.integers(0, 0xFFFF)), f_opts)
    frm = draw(st.binary(max_size=64)) if f_port is not None else b""
    return PHYPayload(MHDR(m_type), MACPayload(fhdr, f_port, frm), draw(mic))


join_requests = st.builds(
    lambda j, d, n, m: PHYPayload(MHDR(MType.JoinRequest), JoinRequest(j, d, n), m),
    eui,
    eui,
    st.integers(0, 0xFFFF),
    mic,
)
rejoins = st.one_of(
    st.builds(
        lambda t, n, d, c, m: PHYPayload(MHDR(MType.RejoinRequest), RejoinRequest(t, d, c, net_id=n), m),
        st.sampled_from([0, 2]), st.binary(min_size=3, max_size=3).map(NetID), eui,
        st.integers(0, 0xFFFF), mic,
    ),
    st.builds(
        lambda j, d, c, m: PHYPayload(MHDR(MType.RejoinRequest), RejoinRequest(1, d, c, join_eui=j), m),
        eui, eui, st.integers(0, 0xFFFF), mic,
    ),
)  # fmt: skip
others = st.one_of(
    st.binary(min_size=16, max_size=16).map(
        lambda b: PHYPayload(MHDR(MType.JoinAccept), EncryptedJoinAccept(b), b"")
    ),
    st.binary(max_size=40).map(lambda b: PHYPayload(MHDR(MType.Proprietary), ProprietaryPayload(b), b"")),
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(data_frames(), join_requests, rejoins, others))
def test_every_frame_type_round_trips(phy: PHYPayload) -> None:
    wire = phy.to_bytes()
    decoded = PHYPayload.from_bytes(wire)
    assert decoded == phy
    assert decoded.to_bytes() == wire


@settings(max_examples=200, deadline=None)
@given(data_frames(), keys, keys, st.integers(0, 0xFFFFFFFF))
def test_encryption_is_its_own_inverse_and_mics_verify(
    phy: PHYPayload, app: AES128Key, nwk: AES128Key, f_cnt: int
) -> None:
    encrypted = security.encrypt_data_frame(
        phy, f_cnt=f_cnt, app_s_key=app, nwk_s_enc_key=nwk, lorawan_1_1=True
    )
    decrypted = security.encrypt_data_frame(
        encrypted, f_cnt=f_cnt, app_s_key=app, nwk_s_enc_key=nwk, lorawan_1_1=True
    )
    assert decrypted == phy
    signed = encrypted.with_mic(security.data_mic_1_0(encrypted, nwk, f_cnt))
    assert security.data_mic_1_0(PHYPayload.from_bytes(signed.to_bytes()), nwk, f_cnt) == signed.mic


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 0xFFFFFF), st.binary(min_size=3, max_size=3).map(NetID), dev_addr, st.booleans(),
    st.integers(0, 7), st.integers(0, 15), st.integers(0, 15),
    st.one_of(st.none(), st.binary(min_size=16, max_size=16)),
    keys, keys, eui, st.integers(0, 0xFFFF),
)  # fmt: skip
def test_join_accepts_seal_and_open(
    join_nonce: int, net_id: NetID, addr: DevAddr, opt_neg: bool, offset: int, rx2: int, delay: int,
    cf_list: bytes | None, enc: AES128Key, mic_key: AES128Key, join_eui: EUI64, dev_nonce: int,
) -> None:  # fmt: skip
    accept = JoinAccept(join_nonce, net_id, addr, DLSettings(opt_neg, offset, rx2), delay, cf_list)
    sealed = security.seal_join_accept(
        accept, encryption_key=enc, mic_key=mic_key, join_eui=join_eui, dev_nonce=dev_nonce
    )
    opened, _, valid = security.open_join_accept(
        PHYPayload.from_bytes(sealed.to_bytes()),
        encryption_key=enc,
        mic_key=mic_key,
        join_eui=join_eui,
        dev_nonce=dev_nonce,
    )
    assert opened == accept and valid is True


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_decoders_raise_only_lorawan_errors(data: bytes) -> None:
    key = AES128Key(b"\x01" * 16)
    decoders = [
        lambda: PHYPayload.from_bytes(data),
        lambda: MACPayload.from_bytes(data, uplink=True),
        lambda: MACPayload.from_bytes(data, uplink=False),
        lambda: JoinAccept.from_bytes(data),
        lambda: JoinRequest.from_bytes(data),
        lambda: RejoinRequest.from_bytes(data),
        lambda: crypto.decrypt_join_accept(key, data),
        lambda: security.open_join_accept(PHYPayload.from_bytes(data), encryption_key=key, mic_key=key),
    ]
    for decode in decoders:
        with contextlib.suppress(LoRaWANError):  # anything else propagates and fails the test
            decode()
