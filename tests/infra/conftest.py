"""Synthesize the app once per context per session; every test reads the same templates.

`shipped` is the deploy rehearsal: `cdk.json`'s own context (bridge on), cdk-nag on, the account and
region in the environment as the CDK CLI sets them, and the Lambda bundles really built (arm64, with
bytecode), as `cdk deploy` does. Every template test runs on it and on `variant` (no bridge, two region
prefixes, no bundling), so no configuration is tested that is not also tested as shipped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

ACCOUNT, REGION = "123456789012", "us-east-1"
# Skips the local bundling (uv installs for arm64) that `cdk synth` does; the shipped context bundles.
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}
VARIANT = {**NO_BUNDLING, "bridge": "false", "region_prefixes": "eu868,us915_0"}
# The other side of each cost setting the shipped cdk.json chooses: the highly available bridge, Lambda's
# INFO logs and active tracing, gateway events on the broker instead of Basic Ingest, the dashboard.
HIGH_AVAILABILITY = {
    **NO_BUNDLING, "bridge_layout": "ha", "log_level": "INFO", "tracing": "Active", "basic_ingest": "false",
    "dashboard": "true", "function_memory": "Uplink=1024",
    "dedup_window_ms": "400", "downlink_margin_ms": "800",  # a slower backhaul's timing
}  # fmt: skip


@dataclass(frozen=True)
class Synthesized:
    name: str
    context: dict[str, Any]
    stack: Any
    artifact: Any
    outdir: Path
    seconds: float

    @property
    def template(self) -> dict[str, Any]:
        return dict(self.artifact.template)

    @property
    def region_prefixes(self) -> list[str]:
        prefixes = self.context["region_prefixes"]
        return prefixes.split(",") if isinstance(prefixes, str) else list(prefixes)


@cache
def synthesize(name: str) -> Synthesized:
    """Once per session and context; the cloud assembly goes to a temporary directory."""
    from infra.app import build_app, shipped_context

    contexts = {"shipped": {}, "variant": dict(VARIANT), "ha": {**shipped_context(), **HIGH_AVAILABILITY}}
    context = shipped_context() if name == "shipped" else contexts[name]
    saved = {k: os.environ.get(k) for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    if name in ("shipped", "ha"):  # as `cdk deploy` sets them from the deploying credentials
        os.environ["CDK_DEFAULT_ACCOUNT"], os.environ["CDK_DEFAULT_REGION"] = ACCOUNT, REGION
    try:
        started = time.perf_counter()
        app, stack = build_app(context, nag=True)  # raises on any unacknowledged cdk-nag finding
        assembly = app.synth()
        seconds = time.perf_counter() - started
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    artifact = assembly.get_stack_by_name(stack.stack_name)
    return Synthesized(name, context, stack, artifact, Path(assembly.directory), seconds)


@pytest.fixture(scope="session")
def shipped() -> Synthesized:
    return synthesize("shipped")


@pytest.fixture(scope="session", params=["shipped", "variant"])
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    return synthesize(request.param)


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_stack(synthesized.stack)


@pytest.fixture(scope="session")
def resources(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return dict(synthesized.template["Resources"])


@pytest.fixture(scope="session")
def shipped_resources(shipped: Synthesized) -> dict[str, dict[str, Any]]:
    return dict(shipped.template["Resources"])


@pytest.fixture(scope="session")
def ha() -> Synthesized:
    return synthesize("ha")


@pytest.fixture(scope="session")
def ha_resources(ha: Synthesized) -> dict[str, dict[str, Any]]:
    return dict(ha.template["Resources"])
