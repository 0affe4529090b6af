"""`loraless-simulator --otaa` against the whole local cloud: four devices sharing one AppKey join,
each on the session the network made for it, and join again in a second run (their DevNonces kept in the
state file; a join server refuses a DevNonce it has seen)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from functions.lorawan.types import AES128Key
from functions.simulator.fleet import CAYENNE_TEMPERATURE, FleetSettings, make_device, run_fleet
from functions.simulator.provisioning import application_topic, provision_device
from tests.e2e.conftest import Api
from tests.support.mosquitto import Inbox

pytestmark = pytest.mark.slow
APP_KEY = AES128Key.parse("5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e")  # one AppKey for the whole fleet
GATEWAYS, PER_GATEWAY = 2, 2


def _events(inbox: Inbox, created: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [json.loads(payload) for _, payload in inbox.matching(application_topic(created, kind))]


async def _run_until_every_device_sends_on_its_new_session(
    settings: FleetSettings, fleet: list[dict[str, Any]], inbox: Inbox, run: int
) -> dict[str, int]:
    """Run the simulator until each device has joined anew and the network accepted (MIC) and decrypted
    (AppSKey) a data uplink from the address of its latest join."""
    before = {created["dev_eui"]: len(_events(inbox, created, "join")) for created in fleet}
    stop = asyncio.Event()
    task = asyncio.create_task(run_fleet(settings, stop))
    deadline = time.monotonic() + 240  # the local cloud on a loaded machine answers joins slowly
    done = 0
    try:
        while time.monotonic() < deadline and not task.done():
            done = 0
            for created in fleet:
                joins = _events(inbox, created, "join")
                if len(joins) <= before[created["dev_eui"]]:
                    continue
                dev_addr = joins[-1]["devAddr"]
                ups = [u for u in _events(inbox, created, "up") if u["devAddr"] == dev_addr]
                if ups and base64.b64decode(ups[-1]["data"]) == CAYENNE_TEMPERATURE:
                    done += 1
            if done == len(fleet):
                break
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        counts = await task
    assert done == len(fleet), f"run {run}: {done} of {len(fleet)} devices on their session; {counts}"
    return counts


@pytest.mark.xfail(
    strict=False,
    reason="known defect, open: 1 of 3 runs passed under load (2 of 4 devices joined); see the stop's note",
)
def test_otaa_devices_sharing_an_app_key_join_reliably_in_two_runs_in_a_row(
    bridge: tuple[str, int], api: Api, inbox: Inbox, tmp_path: Path
) -> None:
    state = tmp_path / "simulator-state.json"
    settings = FleetSettings(
        bridge=bridge, gateways=GATEWAYS, devices_per_gateway=PER_GATEWAY, interval_s=2.0, otaa=True,
        app_key=APP_KEY, state_file=state,
    )  # fmt: skip
    devices = [make_device(settings, index) for index in range(GATEWAYS * PER_GATEWAY)]
    fleet = []
    for index, device in enumerate(devices):
        fleet.append(provision_device(
            api.url, api.token, dev_eui=str(device.dev_eui), join_eui=str(device.join_eui),
            app_key=APP_KEY.hex(), name=f"sim-{index}", application="simulator",
        ))  # fmt: skip
    for run in (1, 2):
        counts = asyncio.run(_run_until_every_device_sends_on_its_new_session(settings, fleet, inbox, run))
        assert counts["joined"] == len(fleet), counts
        nonces = json.loads(state.read_text())["dev_nonce"]
        # every JoinRequest's DevNonce was written down before it left: the next run starts past them
        assert sorted(nonces) == sorted(str(d.dev_eui) for d in devices)
        assert all(nonce >= run for nonce in nonces.values()), nonces
        for created in fleet:  # device and network on the same session
            joins = _events(inbox, created, "join")
            assert api.device(created["dev_eui"])["dev_addr"] == joins[-1]["devAddr"]
        print(f"run {run}: {counts}")
