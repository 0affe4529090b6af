"""The functional tests against LocalStack instead of moto, when a LocalStack endpoint is given
(`make test-localstack`, `LORALESS_LOCALSTACK_ENDPOINT=http://localhost:4566`). Without one they are
skipped: no Docker engine runs where the project's CI runs, and nothing stands in for LocalStack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ENDPOINT = os.environ.get("LORALESS_LOCALSTACK_ENDPOINT")
ROOT = Path(__file__).resolve().parents[2]
# Functional tests whose AWS side is DynamoDB (the local cloud's own tests stay on moto).
ON_DYNAMODB = [
    "tests/functional/test_api.py",
    "tests/functional/test_network_pipeline.py",
    "tests/functional/test_network_joins.py",
    "tests/functional/test_downlink_paths.py",
]

pytestmark = pytest.mark.skipif(not ENDPOINT, reason="no LocalStack endpoint (LORALESS_LOCALSTACK_ENDPOINT)")


def test_localstack_serves_dynamodb() -> None:
    with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=10) as response:
        services = json.load(response)["services"]
    assert services.get("dynamodb") in ("available", "running"), services


def test_the_functional_tests_pass_on_localstack() -> None:
    environment = {**os.environ, "LORALESS_LOCALSTACK_ENDPOINT": str(ENDPOINT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ON_DYNAMODB],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
