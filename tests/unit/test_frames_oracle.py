"""Frames Loraless builds, checked by lora-packet (npm): fields, MICs, decryption, join accepts, keys.

Frames come from a seeded generator so a failure names a reproducible case; all cases of a test go to
node in one batch.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from functions.lorawan import security
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.join import DLSettings, JoinAccept, JoinRequest
from functions.lorawan.keys import session_keys_1_0, session_keys_1_1
from functions.lorawan.phypayload import MHDR, MType, PHYPayload
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from tests.oracles import lora_packet

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(not lora_packet.available(), reason="node and tests/oracles/node_modules are needed"),
]
CASES = 150
LP_MTYPES = {
    MType.UnconfirmedDataUp: "Unconfirmed Data Up",
    MType.UnconfirmedDataDown: "Unconfirmed Data Down",
    MType.ConfirmedDataUp: "Confirmed Data Up",
    MType.ConfirmedDataDown: "Confirmed Data Down",
}


def _key(rng: random.Random) -> AES128Key:
    return AES128Key(rng.randbytes(16))


def _data_frame(rng: random.Random) -> tuple[PHYPayload, AES128Key, AES128Key, bytes]:
    m_type = rng.choice(list(LP_MTYPES))
    f_port = rng.choice([None, 0, rng.randint(1, 223)])
    f_opts = rng.randbytes(rng.randint(0, 15)) if f_port != 0 else b""
    plain = rng.randbytes(rng.randint(0, 60)) if f_port is not None else b""
    f_ctrl = FCtrl(adr=rng.random() < 0.5, ack=rng.random() < 0.5, adr_ack_req=rng.random() < 0.3)
    fhdr = FHDR(DevAddr(rng.randbytes(4)), f_ctrl, rng.randint(0, 0xFFFF), f_opts)
    nwk, app = _key(rng), _key(rng)
    phy = security.data_frame(m_type, fhdr, f_port=f_port, frm_payload=plain)
    phy = security.encrypt_data_frame(
        phy, f_cnt=fhdr.f_cnt, app_s_key=app, nwk_s_enc_key=nwk, lorawan_1_1=False
    )
    phy = phy.with_mic(security.data_mic_1_0(phy, nwk, fhdr.f_cnt))
    return phy, nwk, app, plain


def test_data_frames_agree_with_lora_packet() -> None:
    rng = random.Random(20261124)
    frames = [_data_frame(rng) for _ in range(CASES)]
    operations: list[dict[str, Any]] = []
    for phy, nwk, app, _ in frames:
        wire = phy.to_bytes().hex()
        operations += [
            {"op": "decode", "phy": wire},
            {"op": "mic", "phy": wire, "nwk_s_key": nwk.hex()},
            {"op": "decrypt", "phy": wire, "nwk_s_key": nwk.hex(), "app_s_key": app.hex()},
        ]
    results = lora_packet.run(operations)
    for index, (phy, _, _, plain) in enumerate(frames):
        decoded, mic, decrypted = (r.get("ok") for r in results[3 * index : 3 * index + 3])
        mac = phy.mac_payload
        case = f"case {index}: {phy.to_bytes().hex()}"
        assert decoded is not None, case
        assert decoded["mtype"] == LP_MTYPES[phy.m_type], case
        assert decoded["dev_addr"] == str(mac.fhdr.dev_addr), case
        assert decoded["f_cnt"] == mac.fhdr.f_cnt, case
        assert decoded["f_port"] == mac.f_port, case
        assert decoded["f_opts"] == mac.fhdr.f_opts.hex(), case
        assert decoded["adr"] is mac.fhdr.f_ctrl.adr and decoded["ack"] is mac.fhdr.f_ctrl.ack, case
        assert mic == phy.mic.hex(), case
        if mac.f_port is not None and plain:
            assert decrypted == plain.hex(), case


def test_join_requests_accepts_and_keys_agree_with_lora_packet() -> None:
    rng = random.Random(7)
    operations: list[dict[str, Any]] = []
    expected: list[Any] = []
    for _ in range(40):
        app_key, nwk_key = _key(rng), _key(rng)
        request = JoinRequest(EUI64(rng.randbytes(8)), EUI64(rng.randbytes(8)), rng.randint(0, 0xFFFF))
        phy = PHYPayload(MHDR(MType.JoinRequest), request)
        phy = phy.with_mic(security.join_request_mic(phy, app_key))
        operations.append({"op": "mic", "phy": phy.to_bytes().hex(), "app_key": app_key.hex()})
        expected.append(phy.mic.hex())

        join_nonce, net_id = rng.randint(0, 0xFFFFFF), NetID(rng.randbytes(3))
        dl_settings = DLSettings(False, rng.randint(0, 7), rng.randint(0, 15))
        cf_list = rng.randbytes(16) if rng.random() < 0.5 else None
        accept = JoinAccept(
            join_nonce, net_id, DevAddr(rng.randbytes(4)), dl_settings, rng.randint(0, 15), cf_list
        )
        sealed = security.seal_join_accept(accept, encryption_key=app_key, mic_key=app_key)
        operations.append({"op": "join_accept", "phy": sealed.to_bytes().hex(), "app_key": app_key.hex()})
        plain = bytes((sealed.mhdr.to_byte(),)) + accept.to_bytes()
        expected.append((plain + security.crypto.join_accept_mic_1_0(app_key, plain)).hex())

        keys = session_keys_1_0(app_key, join_nonce, net_id, request.dev_nonce)
        operations.append({
            "op": "keys10", "app_key": app_key.hex(), "net_id": str(net_id),
            "join_nonce": f"{join_nonce:06x}", "dev_nonce": f"{request.dev_nonce:04x}",
        })  # fmt: skip
        expected.append({"nwk_s_key": keys.nwk_s_key.hex(), "app_s_key": keys.app_s_key.hex()})

        keys11 = session_keys_1_1(nwk_key, app_key, join_nonce, request.join_eui, request.dev_nonce)
        operations.append({
            "op": "keys11", "app_key": app_key.hex(), "nwk_key": nwk_key.hex(),
            "join_eui": str(request.join_eui), "join_nonce": f"{join_nonce:06x}",
            "dev_nonce": f"{request.dev_nonce:04x}",
        })  # fmt: skip
        expected.append({
            "app_s_key": keys11.app_s_key.hex(), "f_nwk_s_int_key": keys11.f_nwk_s_int_key.hex(),
            "s_nwk_s_int_key": keys11.s_nwk_s_int_key.hex(), "nwk_s_enc_key": keys11.nwk_s_enc_key.hex(),
        })  # fmt: skip
    results = lora_packet.run(operations)
    for index, (operation, result, want) in enumerate(zip(operations, results, expected, strict=True)):
        assert result.get("ok") == want, (index, operation["op"], result)
