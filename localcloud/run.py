"""`make run`: the whole Loraless stack on this machine.

Starts Mosquitto (IoT Core, mutual TLS), the local cloud (DynamoDB, Lambda, IoT rules and data plane,
API Gateway, all from the synthesized CDK template) and the gateway bridge on UDP 1700, prints where
everything is, and runs until Ctrl-C. `--simulate N` adds N simulated gateways with a device each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from localcloud import station
from localcloud.broker import BRIDGE_IDENTITY, CLOUD_IDENTITY, Mosquitto
from localcloud.cloud import (
    ADMIN_EMAIL,
    ROOT,
    CloudSettings,
    LocalCloud,
    local_admin_api_key,
    private_directory,
)
from localcloud.station import CUPS_PORT, LNS_PORT
from localcloud.supervisor import Supervised, Supervisor
from localcloud.template import LocalTemplate

log = logging.getLogger("loraless.local")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--reset", action="store_true", help="start from empty tables")
    parser.add_argument("--udp-port", type=int, default=1700, help="Semtech UDP for packet forwarders")
    parser.add_argument("--udp-host", default="0.0.0.0", help="0.0.0.0 lets gateways on the LAN in")
    parser.add_argument("--mqtt-port", type=int, default=8883)
    parser.add_argument("--api-port", type=int, default=8090)
    parser.add_argument("--health-port", type=int, default=8081, help="the bridge's health endpoint")
    parser.add_argument("--station-port", type=int, default=LNS_PORT, help="Basics Station LNS (wss)")
    parser.add_argument("--cups-port", type=int, default=CUPS_PORT, help="Basics Station CUPS (https)")
    parser.add_argument(
        "--station-host", default="localhost", help="the name Basics Station gateways reach this host by"
    )
    parser.add_argument("--dynamodb-endpoint", help="use this DynamoDB (e.g. LocalStack) instead of moto")
    parser.add_argument("--region-prefix", default="eu868")
    parser.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="let HTTP integrations reach loopback and private addresses (refused by default, as on AWS)",
    )
    parser.add_argument(
        "--simulate", type=int, default=0, metavar="N", help="N simulated gateways and devices"
    )
    parser.add_argument(
        "--concurrency", type=int, default=4,
        help="environments per function at most (started on demand, stopped after 2 min idle)",
    )  # fmt: skip
    parser.add_argument(
        "--broker-save-on-changes", action="store_true",
        help="Mosquitto saves its sessions after every queued message, not every second (slower while "
        "a subscriber is away; see localcloud/README.md)",
    )  # fmt: skip
    parser.add_argument(
        "--uplink-concurrency", type=int, default=16,
        help="environments of the uplink function at most (each call waits the 200 ms de-duplication window)",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: Ctrl-C)")
    return parser.parse_args(argv)


def start_bridge(args: argparse.Namespace, broker: Mosquitto, cloud: LocalCloud) -> subprocess.Popen[bytes]:
    """The bridge runs in its own process, as its container does in AWS: UDP, and Basics Station's LNS
    and CUPS with the local CA."""
    access = broker.access_for(BRIDGE_IDENTITY)
    log_file = (args.data_dir / "bridge.log").open("ab")
    command = [
        sys.executable, "-m", "functions.bridge", "--udp-host", args.udp_host,
        "--udp-port", str(args.udp_port), "--health-port", str(args.health_port),
        "--mqtt-endpoint", access.host, "--mqtt-port", str(access.port),
        "--ca", str(access.ca_path), "--cert", str(access.cert_path), "--key", str(access.key_path),
        "--topic-prefix", args.region_prefix, "--client-id", "loraless-bridge-local",
        *station.bridge_arguments(broker, args.station_host, args.station_port, args.cups_port),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=cloud.bridge_environment()
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bridge exited: {last_lines(args.data_dir / 'bridge.log')}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{args.health_port}/", timeout=1)
            return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bridge did not become healthy in 20 s")


def last_lines(path: Path, count: int = 5) -> str:
    """The end of a log, for an error that would otherwise only point at the file."""
    with contextlib.suppress(OSError):
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-count:])
    return f"see {path}"


def start_bridge_retrying(
    args: argparse.Namespace, broker: Mosquitto, cloud: LocalCloud, attempts: int = 3
) -> subprocess.Popen[bytes]:
    """At start, as the supervisor does later: a bridge that exits at once (its ports still held by a
    process of a stack killed a moment ago, the broker not answering yet) is started again, said in the
    log, before the stack gives up."""
    for attempt in range(1, attempts + 1):
        try:
            return start_bridge(args, broker, cloud)
        except RuntimeError as error:
            if attempt == attempts:
                raise
            print(f"{error}; starting it again ({attempt}/{attempts - 1})", flush=True)
            time.sleep(2)
    raise AssertionError("unreachable")


def missing_handlers(template: LocalTemplate) -> list[str]:
    """Handlers the template names whose module is not in the tree yet (reported, not hidden)."""
    missing = []
    for function in template.functions.values():
        module = function.handler.rpartition(".")[0]
        if importlib.util.find_spec(module.split(".")[0]) is None:
            missing.append(function.handler)
            continue
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(function.handler)
    return sorted(missing)


def banner(args: argparse.Namespace, broker: Mosquitto, cloud: LocalCloud) -> str:
    access = broker.access_for(CLOUD_IDENTITY)
    assert cloud.template is not None and cloud.dynamodb is not None
    lines = [
        "Loraless is running on this machine.",
        f"  Gateways (Semtech UDP):  point packet forwarders at <this host>:{args.udp_port} (up and down)",
        f"  Basics Station:          LNS wss://{args.station_host}:{args.station_port}, CUPS "
        f"https://{args.station_host}:{args.cups_port}; trust {broker.ca.ca_path}, token: "
        "POST /gateways/{id}/station-credentials",
        f"  MQTT (IoT Core):         mqtts://127.0.0.1:{args.mqtt_port}  CA {access.ca_path}",
        f"                           client certificates: {broker.ca.directory}",
        "                           (common name = thing = client id: a gateway id, or an application id)",
        f"  REST API:                {cloud.api.url if cloud.api else '(no API function in the template)'}"
        f"  (docs: /docs; key: Authorization: Bearer $(cat {args.data_dir / 'admin-api-key'}))",
        f"  Web interface:           {(cloud.api.web_url if cloud.api else None) or '(not built: make web)'}",
        f"  Administrator:           {ADMIN_EMAIL}, password in {args.data_dir / 'admin-password'}",
        f"  DynamoDB:                {cloud.dynamodb.endpoint_url} ({len(cloud.template.tables)} tables)",
        f"  Functions:               {len(cloud.template.functions)} from the CDK template, logs below",
        f"  State:                   {args.data_dir} (keep between runs; --reset to clear)",
    ]
    missing = missing_handlers(cloud.template)
    if missing:
        lines.append(
            f"  Not built yet:           {', '.join(missing)} (their invocations fail and are dead-lettered)"
        )
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def simulate(args: argparse.Namespace, count: int, stop: threading.Event, api_url: str | None) -> None:
    """N simulated gateways, each with an ABP device sending an uplink every 10 s (functions.simulator),
    registered first through the API as a user would register real ones (the network refuses unknown
    gateways and devices), in the organization "Simulator"."""
    from functions.simulator.fleet import FleetSettings, run_fleet
    from functions.simulator.provisioning import SIMULATOR_ORGANIZATION, provision_fleet

    settings = FleetSettings(bridge=("127.0.0.1", args.udp_port), gateways=count)
    if api_url is None:
        log.warning("no API in the template: the simulated gateways and devices are not registered")
    else:
        provision_fleet(api_url, local_admin_api_key(args.data_dir), settings)
        log.info("simulated gateways and devices registered in the organization %s", SIMULATOR_ORGANIZATION)

    async def run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wait_then_stop() -> None:  # threading.Event -> asyncio.Event, on the loop's own thread
            stop.wait()
            loop.call_soon_threadsafe(stopping.set)

        loop.run_in_executor(None, wait_then_stop)
        await run_fleet(settings, stopping)

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("werkzeug", "pynamodb"):  # moto's request lines and PynamoDB's settings notes
        logging.getLogger(chatty).setLevel(logging.WARNING)
    args = parse_args(argv)
    private_directory(args.data_dir)
    # Sessions and their queued messages survive a broker restart (saved every second, or after each
    # change with --broker-save-on-changes: see localcloud/README.md for what each costs and keeps).
    broker = Mosquitto(
        args.data_dir / "broker", host="127.0.0.1", port=args.mqtt_port, persistence=True,
        save_on_changes=args.broker_save_on_changes,
    )  # fmt: skip
    broker.start()
    settings = CloudSettings(
        data_dir=args.data_dir,
        api_port=args.api_port,
        dynamodb_endpoint=args.dynamodb_endpoint,
        reset=args.reset,
        concurrency=args.concurrency,
        uplink_concurrency=args.uplink_concurrency,
        context={"region_prefixes": args.region_prefix},
        allow_private_webhooks=args.allow_private_webhooks,
        station_uris=station.station_uris(args.station_host, args.station_port, args.cups_port),
    )
    cloud = LocalCloud(broker, settings)
    bridge: subprocess.Popen[bytes] | None = None
    stop = threading.Event()

    def restart_bridge() -> None:
        nonlocal bridge
        bridge = start_bridge(args, broker, cloud)

    supervisor = Supervisor(
        [
            Supervised("mosquitto", broker.running, broker.start),
            Supervised("the bridge", lambda: bridge is not None and bridge.poll() is None, restart_bridge),
        ]
    )
    try:
        cloud.start()
        bridge = start_bridge_retrying(args, broker, cloud)
        print(banner(args, broker, cloud), flush=True)
        if args.simulate:
            api_url = cloud.api.url if cloud.api else None
            threading.Thread(target=simulate, args=(args, args.simulate, stop, api_url), daemon=True).start()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            supervisor.watch(stop, args.duration or None)
    finally:
        stop.set()
        print("stopping...", flush=True)
        if bridge is not None:
            bridge.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                bridge.wait(10)
        cloud.stop()
        broker.stop()
    print("stopped; data kept in", args.data_dir, flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.fspath(ROOT))
    sys.exit(main())
