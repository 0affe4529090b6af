"""`python -m functions.simulator`: simulated gateways and devices sending uplinks to a bridge."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from functions.lorawan.types import AES128Key
from functions.simulator.fleet import JOIN_RETRY_S, FleetSettings, make_device, run_fleet
from functions.simulator.provisioning import provision_fleet


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m functions.simulator", description=__doc__)
    parser.add_argument("--bridge", default="127.0.0.1:1700", help="HOST:PORT of the Semtech UDP bridge")
    parser.add_argument("--gateways", type=int, default=1)
    parser.add_argument("--devices", type=int, default=1, help="devices per gateway")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between uplinks of a device")
    parser.add_argument("--region", default="EU868")
    parser.add_argument(
        "--otaa", action="store_true", help="join first (needs a network server behind the bridge)"
    )
    parser.add_argument("--lorawan", default="1.0.3", help="1.0.3 or 1.1.0")
    parser.add_argument("--app-key", default="00" * 16, help="AppKey (OTAA) and the seed of ABP session keys")
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(".loraless-simulator.json"),
        help="file keeping each OTAA device's next DevNonce between runs",
    )
    parser.add_argument(
        "--join-retry",
        type=float,
        default=JOIN_RETRY_S,
        help="seconds a device waits for its JoinAccept before it sends another JoinRequest",
    )
    parser.add_argument(
        "--print-devices", action="store_true", help="print the devices' identities and keys, then exit"
    )
    parser.add_argument(
        "--register",
        metavar="API_URL",
        help="register the gateways and devices through this REST API first (e.g. make run's "
        "http://127.0.0.1:8090/v1): the network refuses unknown gateways and devices",
    )
    parser.add_argument(
        "--api-key-file",
        type=Path,
        default=Path(".local/admin-api-key"),
        help="file holding the API key --register uses (make run's administrator key by default)",
    )
    args = parser.parse_args()
    host, _, port = args.bridge.rpartition(":")
    settings = FleetSettings(
        bridge=(host or "127.0.0.1", int(port)), gateways=args.gateways, devices_per_gateway=args.devices,
        interval_s=args.interval, region=args.region, otaa=args.otaa, app_key=AES128Key.parse(args.app_key),
        lorawan_version=args.lorawan, state_file=args.state, join_retry_s=args.join_retry,
    )  # fmt: skip
    if args.print_devices:
        for index in range(args.gateways * args.devices):
            device = make_device(settings, index)
            session = device.session
            keys = ""
            if session is not None:
                keys = f" dev_addr={session.dev_addr} nwk_s_key={session.nwk_s_key.hex()}"
                keys += f" app_s_key={session.app_s_key.hex()}"
            print(f"dev_eui={device.dev_eui}{keys}")
        return
    logging.basicConfig(level=logging.INFO)
    if args.register:
        token = args.api_key_file.read_text().strip()
        registered = provision_fleet(args.register, token, settings)
        print(f"registered in organization {registered['organization_id']}")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        counts = await run_fleet(settings, stop)
        print(counts)

    asyncio.run(run())


if __name__ == "__main__":
    main()
