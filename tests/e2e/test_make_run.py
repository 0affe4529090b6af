"""`make run` end to end: the local stack starts from the CDK template, `--simulate` registers its
gateways and devices and their uplinks reach the application, everything stops cleanly on SIGTERM and
keeps its data."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from functions.simulator.fleet import CAYENNE_TEMPERATURE, FleetSettings, gateway_ids, make_device
from functions.simulator.provisioning import api_call
from localcloud.dynamodb import free_port
from tests.support.stack import LocalStack, pids

ROOT = Path(__file__).resolve().parents[2]


def router_info(port: int, ca: Path) -> dict[str, str]:
    async def ask() -> dict[str, str]:
        context = ssl.create_default_context(cafile=str(ca))
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT  # the local CA's certificates carry no AKI
        async with connect(f"wss://localhost:{port}/router-info", ssl=context) as connection:
            await connection.send(json.dumps({"router": 1}))
            return dict(json.loads(await connection.recv()))

    return asyncio.run(ask())


@pytest.mark.slow
def test_make_run_serves_a_simulated_gateway_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("udp", "mqtt", "api", "health", "lns", "cups")}
    command = [
        sys.executable, "-m", "localcloud.run", "--data-dir", str(tmp_path), "--udp-host", "127.0.0.1",
        "--udp-port", str(ports["udp"]), "--mqtt-port", str(ports["mqtt"]), "--api-port", str(ports["api"]),
        "--health-port", str(ports["health"]), "--simulate", "2", "--station-port", str(ports["lns"]),
        "--cups-port", str(ports["cups"]),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        while not any("Ctrl-C stops everything." in line for line in output):
            assert time.monotonic() < deadline and process.poll() is None, "".join(output)
            output.append(process.stdout.readline())
        text = "".join(output)
        assert f":{ports['udp']} (up and down)" in text and f"mqtts://127.0.0.1:{ports['mqtt']}" in text
        assert f"LNS wss://localhost:{ports['lns']}, CUPS https://localhost:{ports['cups']}" in text
        assert router_info(ports["lns"], tmp_path / "broker" / "certs" / "ca.pem") == {
            "router": "0:0:0:1",
            "muxs": "0:0:0:0",
            "error": "unknown gateway or invalid credentials",
        }  # the LNS answers over TLS with the local CA; an unregistered gateway is refused
        uplinks = 0
        while uplinks < 2:
            assert time.monotonic() < deadline, "".join(output)
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['health']}/", timeout=2) as response:
                uplinks = json.loads(response.read())["counters"].get("uplinks", 0)
            time.sleep(0.2)
        # End to end: the simulator registered its gateways and devices through the API, so the network
        # takes their frames (it refuses unknown ones) and each device's uplink reaches its application,
        # decrypted with the AppSKey it was activated with.
        api, key = f"http://127.0.0.1:{ports['api']}/v1", (tmp_path / "admin-api-key").read_text().strip()
        settings = FleetSettings(gateways=2)
        for gateway_id in gateway_ids(settings):
            status, gateway = api_call(api, key, "GET", f"/gateways/{gateway_id}")
            assert status == 200, gateway
        for index in range(2):
            dev_eui = str(make_device(settings, index).dev_eui)
            received: list[bytes] = []
            while not received:
                assert time.monotonic() < deadline + 60, f"no up event for {dev_eui}: {''.join(output)}"
                status, events = api_call(api, key, "GET", f"/devices/{dev_eui}/events")
                if status == 200:
                    bodies = [e["body"] for e in events["items"] if e["type"] == "up"]
                    received = [base64.b64decode(b["data"]) for b in bodies]
                time.sleep(0.5)
            assert CAYENNE_TEMPERATURE in received, received
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, rest
        assert "stopped; data kept in" in rest
        assert (tmp_path / "dynamodb.json").exists() and (tmp_path / "broker" / "certs" / "ca.pem").exists()
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_make_run_restarts_a_dead_broker_and_bridge_and_keeps_what_it_acknowledged(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, {name: free_port() for name in ("udp", "mqtt", "api", "health")})
    stack.start()
    try:
        (mosquitto,) = pids(f"mosquitto -c {tmp_path}")
        os.kill(mosquitto, signal.SIGKILL)
        stack.wait_for("mosquitto restarted", 30)
        (bridge,) = pids(f"functions.bridge .*--health-port {stack.ports['health']} ")
        os.kill(bridge, signal.SIGKILL)
        stack.wait_for("the bridge restarted", 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports['health']}/", timeout=5) as response:
            assert response.status == 200

        status, created = stack.api("POST", "/organizations", {"name": "acknowledged before the crash"})
        assert status == 201, created
        assert isinstance(created, dict)
        status, key = stack.api("POST", f"/organizations/{created['id']}/api-keys", {"name": "revoked"})
        assert status == 201 and isinstance(key, dict)
        status, _ = stack.api("DELETE", f"/organizations/{created['id']}/api-keys/{key['id']}")
        assert status == 204
        stack.kill()  # kill -9 of `make run` and everything it started, right after the answers

        stack.start()
        status, organization = stack.api("GET", f"/organizations/{created['id']}")
        assert status == 200 and isinstance(organization, dict)
        assert organization["name"] == "acknowledged before the crash"
        status, keys = stack.api("GET", f"/organizations/{created['id']}/api-keys")
        assert status == 200 and isinstance(keys, dict)
        assert keys.get("items", keys) == [] or all(k["id"] != key["id"] for k in keys["items"])
        revoked = urllib.request.Request(
            f"http://127.0.0.1:{stack.ports['api']}/v1/organizations/{created['id']}",
            headers={"Authorization": f"Bearer {key['token']}"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(revoked, timeout=30)
        assert refused.value.code == 401
    finally:
        stack.kill()
