"""The frame view (what `loraless frame decode` prints and the frame logs show) checked against
third parties: lora-packet (npm) reads the same fields, FCtrl bits, payload and MIC from random frames;
ChirpStack's MAC command vectors (tests/vectors/mac_commands.json) come out by name from FOpts."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan import security
from functions.lorawan.fhdr import FHDR, FCtrl
from functions.lorawan.frame_view import FrameKeys, frame_view, safe_frame_view
from functions.lorawan.phypayload import MType
from functions.lorawan.types import AES128Key, DevAddr
from tests.oracles import lora_packet

LP_MTYPES = {
    MType.UnconfirmedDataUp: "Unconfirmed Data Up",
    MType.UnconfirmedDataDown: "Unconfirmed Data Down",
    MType.ConfirmedDataUp: "Confirmed Data Up",
    MType.ConfirmedDataDown: "Confirmed Data Down",
}
VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "mac_commands.json").read_text())[
    "mac_commands"
]


def _frame(rng: random.Random) -> tuple[bytes, AES128Key, AES128Key, bytes]:
    m_type = rng.choice(list(LP_MTYPES))
    f_port = rng.choice([None, rng.randint(1, 223)])
    plain = rng.randbytes(rng.randint(1, 40)) if f_port is not None else b""
    uplink = m_type.uplink
    adr_ack_req, f_pending = uplink and rng.random() < 0.5, not uplink and rng.random() < 0.5
    adr, ack = rng.random() < 0.5, rng.random() < 0.5
    f_ctrl = FCtrl(adr=adr, ack=ack, adr_ack_req=adr_ack_req, f_pending=f_pending)
    fhdr = FHDR(DevAddr(rng.randbytes(4)), f_ctrl, rng.randint(0, 0xFFFF), rng.randbytes(rng.randint(0, 15)))
    nwk, app = AES128Key(rng.randbytes(16)), AES128Key(rng.randbytes(16))
    phy = security.data_frame(m_type, fhdr, f_port=f_port, frm_payload=plain)
    phy = security.encrypt_data_frame(
        phy, f_cnt=fhdr.f_cnt, app_s_key=app, nwk_s_enc_key=nwk, lorawan_1_1=False
    )
    mic = security.data_mic_1_0(phy, nwk, fhdr.f_cnt)
    if rng.random() < 0.2:
        mic = bytes(4)  # a forged frame: the view says the MIC does not verify
    return phy.with_mic(mic).to_bytes(), nwk, app, plain


@pytest.mark.oracle
@pytest.mark.skipif(not lora_packet.available(), reason="node and tests/oracles/node_modules are needed")
def test_the_view_agrees_with_lora_packet() -> None:
    rng = random.Random(18)
    frames = [_frame(rng) for _ in range(120)]
    operations: list[dict[str, Any]] = []
    for wire, nwk, _, _ in frames:
        operations += [
            {"op": "decode", "phy": wire.hex()},
            {"op": "verify", "phy": wire.hex(), "nwk_s_key": nwk.hex()},
        ]
    results = lora_packet.run(operations)
    for index, (wire, nwk, app, plain) in enumerate(frames):
        theirs, verified = (r.get("ok") for r in results[2 * index : 2 * index + 2])
        view = frame_view(wire, FrameKeys(nwk_s_key=nwk, app_s_key=app))
        case = f"case {index}: {wire.hex()}"
        assert theirs is not None, case
        assert LP_MTYPES[MType[view["mtype"]]] == theirs["mtype"], case
        assert (view["dev_addr"], view["f_cnt"], view["f_opts"], view["mic"]) == (
            theirs["dev_addr"], theirs["f_cnt"], theirs["f_opts"] or "", theirs["mic"]), case  # fmt: skip
        assert view.get("f_port") == theirs["f_port"], case
        f_ctrl = view["f_ctrl"]
        assert (f_ctrl["adr"], f_ctrl["ack"]) == (theirs["adr"], theirs["ack"]), case
        assert f_ctrl.get("adr_ack_req", False) == theirs["adr_ack_req"], case
        assert f_ctrl.get("f_pending", False) == theirs["f_pending"], case
        assert view["mic_valid"] is verified, case
        if plain:
            assert view["frm_payload"] == plain.hex(), case


def _vectors() -> list[Any]:
    return [
        pytest.param(v, id=v["id"])
        for v in VECTORS
        if "command_hex" in v and 0 < len(v["command_hex"]) // 2 <= 15 and v["id"] != "mac-ttn-forcerejoinreq"
    ]


@pytest.mark.parametrize("vector", _vectors())
def test_mac_commands_in_f_opts_come_out_by_name(vector: dict[str, Any]) -> None:
    uplink = vector["direction"] == "uplink"
    m_type = MType.UnconfirmedDataUp if uplink else MType.UnconfirmedDataDown
    fhdr = FHDR(DevAddr.parse("26011bda"), FCtrl(), 7, bytes.fromhex(vector["command_hex"]))
    wire = security.data_frame(m_type, fhdr, f_port=None, frm_payload=b"").to_bytes()
    view = frame_view(wire)
    assert view["mac_commands"][0]["name"] == vector["name"]
    in_clear = frame_view(wire, FrameKeys(lorawan="1.1", mac_commands=bytes.fromhex(vector["command_hex"])))
    assert in_clear["mac_commands"] == view["mac_commands"]  # what the network read, for encrypted FOpts


def test_a_damaged_frame_shows_what_arrived() -> None:
    assert "error" in safe_frame_view(b"\x40\x01")
    truncated = FHDR(DevAddr.parse("26011bda"), FCtrl(), 1, b"\x05")  # RXParamSetupAns without its octet
    junk = security.data_frame(MType.UnconfirmedDataUp, truncated, f_port=None, frm_payload=b"").to_bytes()
    view = frame_view(junk)
    assert view["f_opts"] == "05" and "RXParamSetupAns" in view["mac_commands_error"]
