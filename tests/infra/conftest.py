"""Synthesize the stack once per session; every test reads the same template."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

# Skips the local bundling (uv installs for arm64) that `cdk synth` does; a slow test covers it.
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def synthesized() -> Any:
    from infra.app import build_app

    app, stack = build_app({**NO_BUNDLING, "bridge": "false", "region_prefixes": "eu868,us915_0"})
    assembly = app.synth()
    return stack, assembly.get_stack_by_name(stack.stack_name)


@pytest.fixture(scope="session")
def template(synthesized: Any) -> Any:
    from aws_cdk.assertions import Template

    stack, _ = synthesized
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def resources(synthesized: Any) -> dict[str, dict[str, Any]]:
    _, artifact = synthesized
    return dict(artifact.template["Resources"])
