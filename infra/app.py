"""Builds the CDK app: the stack, its tables from the PynamoDB models, and the cdk-nag checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.stack import LoralessStack, StackSettings
from infra.storage import TableSpec, spec_of
from infra.suppressions import suppress

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def shipped_context() -> dict[str, object]:
    """The context `cdk deploy` runs with: the `context` of the `cdk.json` users get."""
    return dict(json.loads(CDK_JSON.read_text())["context"])


def environment() -> cdk.Environment:
    """Account and region as the CDK CLI sets them for the app (`CDK_DEFAULT_ACCOUNT`/`_REGION`, from the
    profile or credentials it runs with). A stack without them is region-agnostic, and some resources
    (NLB access logs, the assets bucket's name in policies) need a concrete region."""
    return cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    )


def table_specs() -> list[TableSpec]:
    """One table per model of either server (functions/network/models.py, functions/appserver/models.py),
    named by the variable each model reads."""
    from functions.appserver.models import APPLICATION_TABLES
    from functions.network.models import NETWORK_TABLES
    from functions.shared.tables import table_env

    return [spec_of(model, table_env(model)) for model in (*NETWORK_TABLES, *APPLICATION_TABLES)]


def _true(value: object) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def settings_from(app: cdk.App) -> StackSettings:
    """Context values (`cdk.json` or `-c name=value`) override the defaults."""
    defaults = StackSettings()
    prefixes = app.node.try_get_context("region_prefixes") or defaults.region_prefixes
    if isinstance(prefixes, str):
        prefixes = [p.strip() for p in prefixes.split(",") if p.strip()]
    bridge = app.node.try_get_context("bridge")
    origins = app.node.try_get_context("web_origins") or defaults.web_origins
    return StackSettings(
        region_prefixes=list(prefixes),
        bridge=defaults.bridge if bridge is None else str(bridge).lower() not in ("false", "0", "no"),
        web_origins=list(origins),
        admin_api_key_sha256=str(app.node.try_get_context("admin_api_key_sha256") or ""),
        station_certificate_arn=str(app.node.try_get_context("station_certificate_arn") or ""),
        station_domain=str(app.node.try_get_context("station_domain") or ""),
        alarm_email=str(app.node.try_get_context("alarm_email") or ""),
        bridge_credential_serial=str(app.node.try_get_context("bridge_credential_serial") or "1"),
        allow_unknown_gateways=str(app.node.try_get_context("allow_unknown_gateways")).lower()
        in ("true", "1", "yes"),
        log_level=str(app.node.try_get_context("log_level") or defaults.log_level).upper(),
        tracing=str(app.node.try_get_context("tracing") or defaults.tracing),
        xray_sampling_rate=float(
            app.node.try_get_context("xray_sampling_rate") or defaults.xray_sampling_rate
        ),
        function_memory=_memory(app.node.try_get_context("function_memory")),
        basic_ingest=_flag(app.node.try_get_context("basic_ingest"), defaults.basic_ingest),
        bridge_layout=str(app.node.try_get_context("bridge_layout") or defaults.bridge_layout),
        dashboard=_flag(app.node.try_get_context("dashboard"), defaults.dashboard),
        dedup_window_ms=_milliseconds(app, "dedup_window_ms", defaults.dedup_window_ms),
        downlink_margin_ms=_milliseconds(app, "downlink_margin_ms", defaults.downlink_margin_ms),
    )


def _milliseconds(app: cdk.App, name: str, default: int) -> int:
    """A duration setting: 0 is a value (no de-duplication window), not "unset"; anything but a whole
    number of milliseconds from 0 up is refused at synth with the setting's name."""
    value = app.node.try_get_context(name)
    if value is None or value == "":
        return default
    try:
        milliseconds = int(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a whole number of milliseconds, not {value!r}") from None
    if milliseconds < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    return milliseconds


def _flag(value: object, default: bool) -> bool:
    return default if value is None else _true(value)


def _memory(value: object) -> dict[str, int]:
    """`{"Uplink": 512}` from cdk.json, or `Uplink=512,TxAck=256` from `-c function_memory=...`."""
    if not value:
        return {}
    if isinstance(value, str):
        value = dict(pair.split("=", 1) for pair in value.split(",") if "=" in pair)
    assert isinstance(value, dict)
    return {str(name): int(memory) for name, memory in value.items()}


def build_app(
    context: dict[str, object] | None = None, *, nag: bool = True, env: cdk.Environment | None = None
) -> tuple[cdk.App, LoralessStack]:
    """The app `cdk synth` runs; tests and the local cloud build it with their own context (and `env`
    where no CDK CLI sets one)."""
    app = cdk.App(context=context or {})
    tables = table_specs()
    stack = LoralessStack(
        app, "Loraless", settings=settings_from(app), tables=tables, env=env or environment()
    )
    settings = stack.settings
    indexed = [
        table.node.default_child
        for spec, table in zip(tables, stack.storage.tables.values(), strict=True)
        if spec.schema.get("global_secondary_indexes")
    ]
    suppress(
        stack,
        invoked=stack.invoked,
        region_prefixes=settings.region_prefixes,
        bridge=settings.bridge,
        bridge_layout=settings.bridge_layout,
        indexed_tables=indexed,  # type: ignore[arg-type]
    )
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
