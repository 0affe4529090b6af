"""The `loraless` command line: JSON out, one clear line and exit status 2 on bad input."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

import pytest

from functions.lorawan.cli import main

NWK_S_KEY = "44024241ed4ce9a68c6a8bc055233fd3"
APP_S_KEY = "ec925802ae430ca77fd3dd73cb2cc588"
UPLINK = "40f17dbe4900020001954378762b11ff0d"  # lora-packet's README frame


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else None, captured.err


def test_decode_a_data_uplink_with_keys(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "frame", "decode", UPLINK, "--nwk-s-key", NWK_S_KEY, "--app-s-key", APP_S_KEY
    )
    assert status == 0
    assert out == {
        "mtype": "UnconfirmedDataUp", "major": 0, "dev_addr": "49be7df1",
        "f_ctrl": {"adr": False, "ack": False, "f_opts_len": 0, "adr_ack_req": False, "class_b": False},
        "f_cnt": 2, "f_opts": "", "f_port": 1, "frm_payload_decrypted": True, "frm_payload": "74657374",
        "mic": "2b11ff0d", "mic_valid": True,
    }  # fmt: skip


def test_base64_input_and_a_wrong_key_gives_mic_valid_false(capsys: pytest.CaptureFixture[str]) -> None:
    frame = base64.b64encode(bytes.fromhex(UPLINK)).decode()
    status, out, _ = run(capsys, "frame", "decode", frame, "--nwk-s-key", APP_S_KEY)
    assert status == 0 and out["mic_valid"] is False and out["frm_payload"] == "95437876"


def test_mac_commands_in_f_opts_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    # brocaar's 1.0 example: ConfirmedDataUp with DevStatusAns in FOpts.
    frame = "800403020103000006730707c58e8ed59b0c3e"
    status, out, _ = run(capsys, "frame", "decode", frame)
    assert status == 0
    assert out["mtype"] == "ConfirmedDataUp"
    assert out["mac_commands"] == [{"name": "DevStatusAns", "battery": 115, "margin": 7}]


def test_join_request_and_join_accept(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "frame", "decode", "00040302010403020105040302050403022d106a990e12", "--app-key",
        "01010101010101010101010101010101",
    )  # fmt: skip
    assert (
        status == 0
        and out["mtype"] == "JoinRequest"
        and set(out) >= {"join_eui", "dev_eui", "dev_nonce", "mic"}
    )
    status, out, _ = run(
        capsys,
        "frame",
        "decode",
        "20493eeb51fba2116f810edb3742975142",
        "--app-key",
        "00112233445566778899aabbccddeeff",
    )
    assert status == 0
    assert out | {"mic": None} == {
        "mtype": "JoinAccept", "major": 0, "join_nonce": 5704647, "net_id": "221101", "dev_addr": "02031980",
        "opt_neg": False, "rx1_dr_offset": 0, "rx2_dr": 0, "rx_delay": 0, "mic": None, "mic_valid": True,
    }  # fmt: skip


def test_keys_derive_1_0_and_1_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "keys", "derive", "--app-key", "98929b92c49edba9676d646d3b612456", "--join-nonce", "0x376338",
        "--net-id", "aabbcc", "--dev-nonce", "0xf18e",
    )  # fmt: skip
    assert status == 0
    assert out == {
        "lorawan": "1.0",
        "nwk_s_key": "4e3d6e6afbcc67af2ba3c8e8ec4acf4b",
        "app_s_key": "610897aa6f1460623443b527d3ac6a9d",
    }
    status, out, _ = run(
        capsys, "keys", "derive", "--lorawan", "1.1", "--nwk-key", "01020304050607080102030405060708",
        "--app-key", "00000000000000000000000000000000", "--join-nonce", "65536",
        "--join-eui", "0807060504030201", "--dev-nonce", "258",
    )  # fmt: skip
    assert status == 0 and out["nwk_s_enc_key"] == "9898283c4f66eb6c6fd5165882046c40"


@pytest.mark.parametrize(
    "argv",
    [
        ["frame", "decode", "zz"],
        ["frame", "decode", ""],
        ["frame", "decode", "40f17dbe49"],
        ["frame", "decode", UPLINK, "--nwk-s-key", "00"],
        ["frame", "decode", "20493eeb51fba2116f810edb37429751", "--app-key", NWK_S_KEY],
        ["keys", "derive", "--join-nonce", "1", "--dev-nonce", "1"],
        [
            "keys",
            "derive",
            "--app-key",
            NWK_S_KEY,
            "--join-nonce",
            "99999999",
            "--net-id",
            "000013",
            "--dev-nonce",
            "1",
        ],
        ["frames"],
        [],
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.startswith("loraless: error: ") and captured.err.count("\n") == 1


def test_the_installed_console_script_and_module_entry_point() -> None:
    for command in ([str(sys.prefix) + "/bin/loraless"], [sys.executable, "-m", "functions.lorawan"]):
        done = subprocess.run(
            [*command, "frame", "decode", UPLINK], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0 and json.loads(done.stdout)["dev_addr"] == "49be7df1"
        bad = subprocess.run(
            [*command, "frame", "decode", "nothex!"], capture_output=True, text=True, check=False
        )
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
