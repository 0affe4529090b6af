"""A third-party gateway client, lora-mote-emulator (PyPI), through the bridge: its PULL_DATA is
acknowledged and registered, its PUSH_DATA arrives on MQTT, and the frame in it is the one its device
built (checked with our protocol core: address, counter, 1.1 MIC with the emulator's TxDr/TxCh)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from pathlib import Path

import pytest

from functions.lorawan import security
from functions.lorawan.phypayload import PHYPayload
from functions.lorawan.types import AES128Key
from localcloud.broker import Mosquitto
from localcloud.dynamodb import free_port
from tests.functional.test_bridge import running
from tests.support.mosquitto import Inbox

ROOT = Path(__file__).resolve().parents[2]
MOTE = ROOT / ".oracles" / "mote-venv" / "bin" / "mote"
GATEWAY = "4e7b2799b9bfd427"
KEYS = {
    "nwksenckey": "11111111111111111111111111111111",
    "snwksintkey": "22222222222222222222222222222222",
    "fnwksintkey": "33333333333333333333333333333333",
    "appskey": "44444444444444444444444444444444",
}

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(
        not MOTE.exists(), reason="scripts/setup.sh installs lora-mote-emulator in .oracles/mote-venv"
    ),
]


def configure(directory: Path, udp_port: int) -> None:
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({
        "dest": {"hostname": "127.0.0.1", "port": udp_port},
        "src": {"hostname": "127.0.0.1", "port": free_port()},
        "timeout": 1, "level": "debug",
    }))  # fmt: skip
    (directory / "gateway.json").write_text(json.dumps({"GatewayEUI": GATEWAY}))
    (directory / "device.json").write_text(json.dumps({
        "Device": {"JoinEUI": "0000000000000000", "DevEUI": "0004a30b001c0530"},
        "RootKeys": {"AppKey": "00" * 16, "NwkKey": "00" * 16},
    }))  # fmt: skip
    (directory / "abp.json").write_text(json.dumps({
        "deveui": "0004a30b001c0530", "joineui": "0000000000000000", "devaddr": "26011bda",
        "appkey": "00" * 16, "nwkkey": "00" * 16, **KEYS, "fcntup": 0, "version": "1.1",
    }))  # fmt: skip


def mote(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(MOTE), "-c", str(directory), "--model", str(directory / "models"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=directory)


def test_lora_mote_emulator_pulls_and_pushes_through_the_bridge(broker: Mosquitto, tmp_path: Path) -> None:
    inbox = Inbox(broker, "eu868/gateway/+/event/up", "eu868/gateway/+/state/conn")

    async def scenario() -> None:
        app = await running(broker)
        assert app.udp_address is not None
        config = tmp_path / "mote"
        configure(config, app.udp_address[1])
        loop = asyncio.get_running_loop()
        for step in (("abp",), ("pull",), ("app", "-u", "hello")):
            done = await loop.run_in_executor(None, lambda s=step: mote(config, *s))
            assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        (frame,) = await loop.run_in_executor(None, inbox.wait, "eu868/gateway/+/event/up", 1)
        assert frame["rxInfo"]["gatewayId"] == GATEWAY
        phy = PHYPayload.from_bytes(base64.b64decode(frame["phyPayload"]))
        mac = phy.mac_payload
        assert str(mac.fhdr.dev_addr) == "26011bda" and mac.fhdr.f_cnt == 0
        assert security.decrypt_frm_payload(phy, AES128Key.parse(KEYS["appskey"]), 0) == b"hello"
        counters = app.metrics.snapshot()["counters"]
        assert counters["pull_data"] == 1 and counters["push_data"] >= 1
        assert app.registry.pull_address(GATEWAY) is not None
        await app.stop()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 120))
    finally:
        inbox.close()
