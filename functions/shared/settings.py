"""Settings from the environment, read once per process. The CDK stack sets every variable named here;
the defaults are what tests and the local cloud use when a variable is absent."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass
class Settings:
    """Mutable only so tests can point one setting elsewhere; the code never writes it."""

    aws_region: str
    dynamodb_endpoint: str | None
    dedup_window_s: float
    rx1_delay_s: int
    net_id: str
    iot_data_endpoint: str | None
    join_server_function: str | None
    network_events_function: str | None
    downlink_function: str | None
    local_master_key: str | None
    kms_key_id: str | None
    allow_unknown_gateways: bool


def load() -> Settings:
    return Settings(
        aws_region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "eu-west-1")),
        dynamodb_endpoint=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", os.environ.get("AWS_ENDPOINT_URL")),
        dedup_window_s=float(_env("DEDUP_WINDOW_MS", "200")) / 1000,
        # RX1 delay given to devices in the JoinAccept. Cloud round trips (rule -> Lambda cold start 0.4-0.8
        # s, the de-duplication window, DynamoDB) make 1 s unsafe; 3 s leaves room and keeps RX2 at 4 s.
        rx1_delay_s=int(_env("RX1_DELAY_S", "3")),
        net_id=_env("NET_ID", "000000"),
        iot_data_endpoint=os.environ.get("IOT_DATA_ENDPOINT"),
        join_server_function=os.environ.get("JOIN_SERVER_FUNCTION"),
        network_events_function=os.environ.get("NETWORK_EVENTS_FUNCTION"),
        downlink_function=os.environ.get("DOWNLINK_FUNCTION"),
        local_master_key=os.environ.get("LORALESS_LOCAL_MASTER_KEY"),
        kms_key_id=os.environ.get("KMS_KEY_ID"),
        # Frames from gateways nobody registered are refused, as ChirpStack refuses them; a deployment may
        # allow them (`cdk.json` context `allow_unknown_gateways`).
        allow_unknown_gateways=_env("ALLOW_UNKNOWN_GATEWAYS", "false").lower() in ("1", "true", "yes"),
    )


SETTINGS = load()
