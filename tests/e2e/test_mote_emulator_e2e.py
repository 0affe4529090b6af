"""A third-party device through the whole local cloud: lora-mote-emulator (PyPI; gateway and LoRaWAN 1.1
end-device in one command-line tool, in its own virtual environment) sends PULL_DATA, joins over OTAA
and sends an uplink; the JoinAccept must open with its keys (it raises on a wrong MIC), and the
application gets the payload decrypted on MQTT. Neither side shares code with the other."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from functions.simulator.provisioning import application_topic, provision_device
from localcloud.dynamodb import free_port
from tests.e2e.conftest import Api
from tests.support.mosquitto import Inbox

ROOT = Path(__file__).resolve().parents[2]
MOTE = ROOT / ".oracles" / "mote-venv" / "bin" / "mote"
GATEWAY = "4e7b2799b9bfd428"
DEV_EUI = "0004a30b001c0531"
JOIN_EUI = "70b3d57ed00e2eff"
APP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
NWK_KEY = "000102030405060708090a0b0c0d0e0f"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.oracle,
    pytest.mark.skipif(
        not MOTE.exists(), reason="scripts/setup.sh installs lora-mote-emulator in .oracles/mote-venv"
    ),
]


def configure(directory: Path, bridge: tuple[str, int], source_port: int, timeout_s: float) -> None:
    """The emulator's files; `timeout_s` is how long it waits for a PULL_RESP after each PUSH_DATA."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({
        "dest": {"hostname": bridge[0], "port": bridge[1]},
        "src": {"hostname": "127.0.0.1", "port": source_port},
        "timeout": timeout_s, "level": "debug",
    }))  # fmt: skip
    (directory / "gateway.json").write_text(json.dumps({"GatewayEUI": GATEWAY}))
    (directory / "device.json").write_text(json.dumps({
        "Device": {"JoinEUI": JOIN_EUI, "DevEUI": DEV_EUI},
        "RootKeys": {"AppKey": APP_KEY, "NwkKey": NWK_KEY},
    }))  # fmt: skip


def mote(directory: Path, *args: str) -> str:
    command = [str(MOTE), "-c", str(directory), "--model", str(directory / "models"), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=directory)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output and "ERROR" not in output, output
    return output


def test_lora_mote_emulator_joins_and_its_uplink_reaches_the_application(
    bridge: tuple[str, int], api: Api, inbox: Inbox, tmp_path: Path
) -> None:
    created = provision_device(
        api.url, api.token, dev_eui=DEV_EUI, join_eui=JOIN_EUI, app_key=APP_KEY, nwk_key=NWK_KEY,
        name="third-party", mac_version="1.1.0",
    )  # fmt: skip
    config = tmp_path / "mote"
    source_port = free_port()
    configure(config, bridge, source_port, timeout_s=20)  # how long it waits for the JoinAccept
    mote(config, "pull")
    joined = mote(config, "join", "-n")
    assert "Join Accept (MIC verified)" in joined, joined
    (join_event,) = inbox.wait(application_topic(created, "join"), 1, 20)
    assert join_event["deviceInfo"]["devEui"] == DEV_EUI
    configure(config, bridge, source_port, timeout_s=1)  # an unconfirmed uplink gets no answer
    mote(config, "app", "-u", "hello from a stranger")
    (up,) = inbox.wait(application_topic(created, "up"), 1, 20)
    assert up["devAddr"] == join_event["devAddr"]
    assert up["fCnt"] == 0 and up["rxInfo"][0]["gatewayId"] == GATEWAY
    assert base64.b64decode(up["data"]) == b"hello from a stranger"
    assert api.device(DEV_EUI)["f_cnt_up"] == 1
