"""Basics Station on the local cloud: the bridge serves the LNS (wss) and CUPS (https) with a server
certificate from the local CA, which gateways trust (`tc.trust` / `cups.trust` = the CA's PEM)."""

from __future__ import annotations

import socket

from localcloud.broker import Mosquitto

LNS_PORT, CUPS_PORT = 3001, 3002  # as ChirpStack's Basics Station backend listens


def station_uris(host: str, lns_port: int, cups_port: int) -> tuple[str, str]:
    return f"wss://{host}:{lns_port}", f"https://{host}:{cups_port}"


def bridge_arguments(broker: Mosquitto, host: str, lns_port: int, cups_port: int) -> list[str]:
    """The bridge's Basics Station flags; `host` is the name gateways use (it is in the certificate)."""
    hosts = tuple(dict.fromkeys(("localhost", "127.0.0.1", host, socket.gethostname())))
    server = broker.ca.issue("basics-station-lns", server=True, hosts=hosts)
    lns, cups = station_uris(host, lns_port, cups_port)
    return [
        "--station-port", str(lns_port), "--cups-port", str(cups_port),
        "--station-tls-cert", str(server.cert_path), "--station-tls-key", str(server.key_path),
        "--station-public-uri", lns, "--cups-public-uri", cups, "--station-trust", str(broker.ca.ca_path),
    ]  # fmt: skip
