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
from functions.simulator.provisioning import application_topic, provision_fleet
from tests.e2e.conftest import Api
from tests.support.mosquitto import Inbox

pytestmark = pytest.mark.slow
APP_KEY = AES128Key.parse("5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e")  # one AppKey for the whole fleet
GATEWAYS, PER_GATEWAY = 2, 2


def _events(inbox: Inbox, created: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [json.loads(payload) for _, payload in inbox.matching(application_topic(created, kind))]


def _sends_on(inbox: Inbox, created: dict[str, Any], dev_addr: str) -> bool:
    """The network accepted (MIC) and decrypted (AppSKey) a data uplink the device sent from `dev_addr`."""
    ups = [u for u in _events(inbox, created, "up") if u["devAddr"] == dev_addr]
    return any(base64.b64decode(u["data"]) == CAYENNE_TEMPERATURE for u in ups)


def _where(inbox: Inbox, created: dict[str, Any], api: Api) -> str:
    """One device's joins and uplink addresses as the inbox saw them, and the network's, for a failure."""
    joins = [j["devAddr"] for j in _events(inbox, created, "join")]
    ups = sorted({u["devAddr"] for u in _events(inbox, created, "up")})
    network = api.device(created["dev_eui"])["dev_addr"]
    return f"{created['dev_eui']}: join events {joins}, ups from {ups}, network {network}"


async def _run_until_every_device_sends_on_its_new_session(
    settings: FleetSettings, fleet: list[dict[str, Any]], inbox: Inbox, api: Api, run: int
) -> dict[str, int]:
    """Run the simulator until each device has joined anew (the network's session, read from the API, is
    not the one it had before the run) and the network accepts and decrypts its uplinks on that session.
    The API, not the join events, says which session the network holds: events of two joins handled by
    two workers may arrive the other way round, and on a loaded machine a join event can be missing (see
    `missing join events` in the output)."""
    before = {created["dev_eui"]: api.device(created["dev_eui"])["dev_addr"] for created in fleet}
    stop = asyncio.Event()
    task = asyncio.create_task(run_fleet(settings, stop))
    deadline = time.monotonic() + 240  # the local cloud on a loaded machine answers joins slowly
    waiting = {created["dev_eui"]: created for created in fleet}
    try:
        while waiting and time.monotonic() < deadline and not task.done():
            for dev_eui, created in list(waiting.items()):
                if not _events(inbox, created, "up"):
                    continue
                network = (await asyncio.to_thread(api.device, dev_eui))["dev_addr"]
                if network not in (None, before[dev_eui]) and _sends_on(inbox, created, str(network)):
                    del waiting[dev_eui]
            await asyncio.sleep(1)
    finally:
        stop.set()
        counts = await task
    where = "; ".join(_where(inbox, created, api) for created in waiting.values())
    assert not waiting, (
        f"run {run}: {len(waiting)} of {len(fleet)} devices not on a new session; {counts}; {where}"
    )
    missing = [c["dev_eui"] for c in fleet if api.device(c["dev_eui"])["dev_addr"] not in
               {j["devAddr"] for j in _events(inbox, c, "join")}]  # fmt: skip
    print(f"run {run}: missing join events of {missing}" if missing else f"run {run}: every join event seen")
    return counts


@pytest.mark.timeout(900)  # starting the cloud and two runs of up to 240 s each on a loaded machine
def test_otaa_devices_sharing_an_app_key_join_reliably_in_two_runs_in_a_row(
    bridge: tuple[str, int], api: Api, inbox: Inbox, tmp_path: Path
) -> None:
    state = tmp_path / "simulator-state.json"
    settings = FleetSettings(
        bridge=bridge, gateways=GATEWAYS, devices_per_gateway=PER_GATEWAY, interval_s=4.0, otaa=True,
        app_key=APP_KEY, state_file=state,
    )  # fmt: skip
    # Gateways and devices registered as `make run --simulate` and `--register` do (the network drops
    # unknown gateways' frames), one AppKey for all.
    registered = provision_fleet(api.url, api.token, settings)
    devices = [make_device(settings, index) for index in range(GATEWAYS * PER_GATEWAY)]
    fleet = [{"application_id": registered["application_id"], "dev_eui": str(d.dev_eui)} for d in devices]
    for run in (1, 2):
        counts = asyncio.run(
            _run_until_every_device_sends_on_its_new_session(settings, fleet, inbox, api, run)
        )
        assert counts["joined"] == len(fleet), counts
        nonces = json.loads(state.read_text())["dev_nonce"]
        # every JoinRequest's DevNonce was written down before it left: the next run starts past them
        assert sorted(nonces) == sorted(str(d.dev_eui) for d in devices)
        assert all(nonce >= run for nonce in nonces.values()), nonces
        print(f"run {run}: {counts}")
