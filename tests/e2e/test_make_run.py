"""`make run` end to end: the local stack starts from the CDK template, the bridge takes a simulated
gateway's uplinks, everything stops cleanly on SIGTERM and keeps its data."""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from localcloud.dynamodb import free_port

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
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, rest
        assert "stopped; data kept in" in rest
        assert (tmp_path / "dynamodb.json").exists() and (tmp_path / "broker" / "certs" / "ca.pem").exists()
    finally:
        if process.poll() is None:
            process.kill()
