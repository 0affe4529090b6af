"""Every setting of the Lambdas, read once per process from the environment into one typed object.

The CDK stack (infra/) and the local cloud (localcloud/cloud.py) set the variables named here; the
defaults are what tests use when a variable is absent. No other module reads `os.environ` for a setting
(table names excepted: each model names its own variable, see functions/shared/tables.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class Settings:
    """One deployment's settings. Not frozen only so that a test can point one setting elsewhere
    (`monkeypatch.setattr(SETTINGS, ...)`); the code never writes it. Secrets stay out of the repr."""

    aws_region: str
    dynamodb_endpoint: str | None
    dedup_window_s: float
    # RX1 delay given to devices in the JoinAccept. Cloud round trips (rule -> Lambda cold start 0.4-0.8
    # s, the de-duplication window, DynamoDB) make 1 s unsafe; 3 s leaves room and keeps RX2 at 4 s.
    rx1_delay_s: int
    # How long before an RX window opens the network server must publish its downlink: the uplink's way
    # from the gateway to the rule's timestamp plus the downlink's way back and the gateway's lead time
    # (functions/network/README.md "Downlinks that would miss their window"). A window closer than this
    # is not used.
    downlink_margin_s: float
    net_id: str
    iot_data_endpoint: str | None
    join_server_function: str | None
    network_events_function: str | None
    downlink_function: str | None
    webhook_function: str | None
    local_master_key: str | None = field(repr=False)
    kms_key_id: str | None
    # Network server: the DevStatusReq schedule when a device's desired state does not set one.
    dev_status_interval_s: int
    dev_status_every_uplinks: int
    # Application server: login tokens, the API's callers, codecs, webhooks, MQTT certificates.
    jwt_secret: str | None = field(repr=False)
    jwt_secret_arn: str | None
    admin_api_key_sha256: str
    web_origin: str
    codec_js_time_limit_s: float
    codec_js_memory_limit_bytes: int
    webhook_private_networks_allowed: bool
    mqtt_endpoint: str | None
    mqtt_ca_file: str | None
    application_policy_name: str | None
    # Network server: frames from gateways nobody registered are refused unless this allows them.
    allow_unknown_gateways: bool


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def load(env: Mapping[str, str] = os.environ) -> Settings:
    """The settings `env` gives (the process environment by default)."""
    get = env.get
    private = get("WEBHOOK_ALLOW_PRIVATE_NETWORKS")
    return Settings(
        aws_region=get("AWS_REGION", get("AWS_DEFAULT_REGION", "eu-west-1")),
        dynamodb_endpoint=get("AWS_ENDPOINT_URL_DYNAMODB", get("AWS_ENDPOINT_URL")),
        dedup_window_s=float(get("DEDUP_WINDOW_MS", "200")) / 1000,
        rx1_delay_s=int(get("RX1_DELAY_S", "3")),
        downlink_margin_s=float(get("DOWNLINK_MARGIN_MS", "500")) / 1000,
        net_id=get("NET_ID", "000000"),
        iot_data_endpoint=get("IOT_DATA_ENDPOINT"),
        join_server_function=get("JOIN_SERVER_FUNCTION"),
        network_events_function=get("NETWORK_EVENTS_FUNCTION"),
        downlink_function=get("DOWNLINK_FUNCTION"),
        webhook_function=get("WEBHOOK_FUNCTION"),
        local_master_key=get("LORALESS_LOCAL_MASTER_KEY"),
        kms_key_id=get("KMS_KEY_ID"),
        dev_status_interval_s=int(get("DEV_STATUS_INTERVAL_S", "86400")),
        dev_status_every_uplinks=int(get("DEV_STATUS_EVERY_UPLINKS", "0")),
        jwt_secret=get("LORALESS_JWT_SECRET") or None,
        jwt_secret_arn=get("JWT_SECRET_ARN") or None,
        admin_api_key_sha256=get("LORALESS_ADMIN_API_KEY_SHA256", ""),
        web_origin=get("LORALESS_WEB_ORIGIN", "*"),
        codec_js_time_limit_s=float(get("CODEC_JS_TIME_LIMIT_MS", "100")) / 1000,
        codec_js_memory_limit_bytes=int(get("CODEC_JS_MEMORY_LIMIT_BYTES", str(16 * 1024 * 1024))),
        # Refused on AWS Lambda and in the local cloud alike unless the operator allows them
        # (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true; `make run --allow-private-webhooks`), issue 15.
        webhook_private_networks_allowed=_flag(private) if private is not None else False,
        mqtt_endpoint=get("LORALESS_MQTT_ENDPOINT") or None,
        mqtt_ca_file=get("LORALESS_MQTT_CA_FILE") or None,
        application_policy_name=get("APPLICATION_POLICY_NAME") or None,
        # Frames from gateways nobody registered are refused, as ChirpStack refuses them; a deployment may
        # allow them (`cdk.json` context `allow_unknown_gateways`).
        allow_unknown_gateways=get("ALLOW_UNKNOWN_GATEWAYS", "false").lower() in ("1", "true", "yes"),
    )


SETTINGS = load()
