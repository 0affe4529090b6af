"""Bridge settings from the environment (the container's way) or flags (`python -m functions.bridge -h`)."""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BridgeConfig:
    udp_host: str = "0.0.0.0"
    udp_port: int = 1700
    health_host: str = "127.0.0.1"  # the UDP port is for the LAN; the health endpoint is not, by default
    health_port: int = 8080
    mqtt_endpoint: str = "localhost"
    mqtt_port: int = 8883
    ca_path: Path | None = None
    cert_path: Path | None = None
    key_path: Path | None = None
    client_id: str = "loraless-bridge-1"
    topic_prefix: str = "eu868"
    # Gateway events published by Basic Ingest, by topic suffix -> IoT rule name (`event/up` ->
    # `Loraless_GatewayUplink`): `$aws/rules/<rule>/<topic>`, not billed as messages by IoT Core.
    basic_ingest: dict[str, str] = field(default_factory=dict)
    skip_crc_check: bool = False
    buffer_size: int = 10000
    iot_core_limits: bool = True
    rate_limit_per_s: float = 500.0
    pull_ttl_s: float = 60.0
    offline_after_s: float = 120.0
    # Basics Station (off unless a port is given): LNS WebSocket and CUPS HTTP ports, the server
    # certificate when the bridge terminates TLS itself (none: a load balancer does), the URIs gateways
    # are sent to, the CA gateways are told to trust (PEM), and the frame filters of router_config.
    station_port: int | None = None
    cups_port: int | None = None
    station_tls_cert: Path | None = None
    station_tls_key: Path | None = None
    station_public_uri: str | None = None
    cups_public_uri: str | None = None
    station_trust: Path | None = None
    station_net_ids: str = ""
    station_join_eui_ranges: str = ""


def _materialize(pem: str | None, name: str) -> Path | None:
    """Certificates given as PEM text in the environment (ECS secrets) go to a private temp file."""
    if not pem:
        return None
    directory = Path(tempfile.mkdtemp(prefix="bridge-"))
    path = directory / name
    path.write_text(pem)
    path.chmod(0o600)
    return path


def from_environment(argv: list[str] | None = None) -> BridgeConfig:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m functions.bridge", description="Semtech UDP <-> MQTT bridge"
    )
    parser.add_argument("--udp-host", default=env.get("BRIDGE_UDP_HOST", "0.0.0.0"))
    parser.add_argument("--udp-port", type=int, default=int(env.get("BRIDGE_UDP_PORT", "1700")))
    parser.add_argument(
        "--health-host", default=env.get("BRIDGE_HEALTH_HOST", "127.0.0.1"),
        help="where the health endpoint listens (0.0.0.0 for a load balancer's checks)",
    )  # fmt: skip
    parser.add_argument("--health-port", type=int, default=int(env.get("BRIDGE_HEALTH_PORT", "8080")))
    parser.add_argument("--mqtt-endpoint", default=env.get("BRIDGE_MQTT_ENDPOINT", "localhost"))
    parser.add_argument("--mqtt-port", type=int, default=int(env.get("BRIDGE_MQTT_PORT", "8883")))
    parser.add_argument("--ca", default=env.get("BRIDGE_MQTT_CA"))
    parser.add_argument("--cert", default=env.get("BRIDGE_MQTT_CERT"))
    parser.add_argument("--key", default=env.get("BRIDGE_MQTT_KEY"))
    parser.add_argument("--client-id", default=env.get("BRIDGE_CLIENT_ID") or _client_id(env))
    parser.add_argument("--topic-prefix", default=env.get("BRIDGE_TOPIC_PREFIX", "eu868"))
    parser.add_argument(
        "--basic-ingest", default=env.get("BRIDGE_BASIC_INGEST", ""),
        help="event/up=<rule>,event/ack=<rule>,...: publish these gateway events to their IoT rule directly",
    )  # fmt: skip
    parser.add_argument(
        "--skip-crc-check", action="store_true", default=env.get("BRIDGE_SKIP_CRC_CHECK") == "1"
    )
    parser.add_argument("--buffer-size", type=int, default=int(env.get("BRIDGE_BUFFER_SIZE", "10000")))
    parser.add_argument(
        "--no-iot-core-limits", action="store_true", default=env.get("BRIDGE_IOT_CORE_LIMITS") == "0",
        help="lift the 100 publishes/s per connection that IoT Core enforces (local load tests only)",
    )  # fmt: skip
    parser.add_argument(
        "--rate-limit", type=float, default=float(env.get("BRIDGE_RATE_LIMIT", "500")),
        help="datagrams/s accepted per source host (0: no limit)",
    )  # fmt: skip
    _station_arguments(parser, env)
    args = parser.parse_args(argv)
    cert = Path(args.cert) if args.cert else _materialize(env.get("BRIDGE_MQTT_CERT_PEM"), "cert.pem")
    key = Path(args.key) if args.key else _materialize(env.get("BRIDGE_MQTT_KEY_PEM"), "key.pem")
    return BridgeConfig(
        udp_host=args.udp_host,
        udp_port=args.udp_port,
        health_host=args.health_host,
        health_port=args.health_port,
        mqtt_endpoint=args.mqtt_endpoint,
        mqtt_port=args.mqtt_port,
        ca_path=Path(args.ca) if args.ca else None,
        cert_path=cert,
        key_path=key,
        client_id=args.client_id,
        topic_prefix=args.topic_prefix,
        basic_ingest=parse_basic_ingest(args.basic_ingest),
        skip_crc_check=args.skip_crc_check,
        buffer_size=args.buffer_size,
        iot_core_limits=not args.no_iot_core_limits,
        rate_limit_per_s=args.rate_limit,
        station_port=args.station_port,
        cups_port=args.cups_port,
        station_tls_cert=Path(args.station_tls_cert) if args.station_tls_cert else None,
        station_tls_key=Path(args.station_tls_key) if args.station_tls_key else None,
        station_public_uri=args.station_public_uri,
        cups_public_uri=args.cups_public_uri,
        station_trust=Path(args.station_trust) if args.station_trust else None,
        station_net_ids=args.station_net_ids,
        station_join_eui_ranges=args.station_join_eui_ranges,
    )


def parse_basic_ingest(text: str) -> dict[str, str]:
    """`event/up=Loraless_GatewayUplink,event/ack=...` -> {"event/up": "Loraless_GatewayUplink", ...}."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 or not pair[1].strip() for pair in pairs):
        raise ValueError(f"BRIDGE_BASIC_INGEST: expected kind=rule pairs, got {text!r}")
    return {kind.strip(): rule.strip() for kind, rule in pairs}


def _optional_int(text: str | None) -> int | None:
    return int(text) if text else None


def _station_arguments(parser: argparse.ArgumentParser, env: os._Environ[str]) -> None:
    group = parser.add_argument_group("LoRa Basics Station")
    group.add_argument("--station-port", type=int, default=_optional_int(env.get("BRIDGE_STATION_PORT")),
                       help="LNS WebSocket port (off when not given)")  # fmt: skip
    group.add_argument("--cups-port", type=int, default=_optional_int(env.get("BRIDGE_CUPS_PORT")))
    group.add_argument("--station-tls-cert", default=env.get("BRIDGE_STATION_TLS_CERT"))
    group.add_argument("--station-tls-key", default=env.get("BRIDGE_STATION_TLS_KEY"))
    group.add_argument("--station-public-uri", default=env.get("BRIDGE_STATION_PUBLIC_URI"),
                       help="the LNS base URI gateways reach, e.g. wss://lns.example.com:6887")  # fmt: skip
    group.add_argument("--cups-public-uri", default=env.get("BRIDGE_CUPS_PUBLIC_URI"))
    group.add_argument("--station-trust", default=env.get("BRIDGE_STATION_TRUST"),
                       help="PEM of the CA gateways trust for LNS and CUPS (handed out by CUPS)")  # fmt: skip
    group.add_argument("--station-net-ids", default=env.get("BRIDGE_STATION_NET_IDS", ""),
                       help="forward only data frames of these NetIDs (hex, comma-separated)")  # fmt: skip
    group.add_argument("--station-join-eui-ranges",
                       default=env.get("BRIDGE_STATION_JOIN_EUI_RANGES", ""),
                       help="forward only joins of these JoinEUI ranges (lo-hi hex, comma-separated)",
                       )  # fmt: skip


def _client_id(env: os._Environ[str]) -> str:
    """Unique per process (IoT Core disconnects a second client with the same id)."""
    prefix = env.get("BRIDGE_CLIENT_ID_PREFIX", "loraless-bridge")
    return f"{prefix}-{os.uname().nodename}-{os.getpid()}"
