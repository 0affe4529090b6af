"""DynamoDB for tests: one moto server per session with every table of both servers
(functions/network/models.py, functions/appserver/models.py), the models pointed at it, and each test
starting from empty tables (`dynamodb` fixture)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

# Key envelopes in tests use a local master key; set before the settings module reads the environment.
os.environ.setdefault("LORALESS_LOCAL_MASTER_KEY", "11" * 32)

from functions.appserver.models import APPLICATION_TABLES
from functions.network.models import NETWORK_TABLES
from localcloud.dynamodb import free_port

logging.getLogger("werkzeug").setLevel(logging.WARNING)


# LocalStack's edge endpoint (tests/localstack, `make test-localstack`): DynamoDB there instead of moto.
LOCALSTACK_ENDPOINT = os.environ.get("LORALESS_LOCALSTACK_ENDPOINT")


@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = None
    if LOCALSTACK_ENDPOINT:
        url = LOCALSTACK_ENDPOINT
    else:
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        url = f"http://127.0.0.1:{port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
        model.Meta.host = url  # type: ignore[attr-defined]
        model._connection = None
        if not model.exists():
            model.create_table(wait=True)
    yield url
    if server is not None:
        server.stop()


@pytest.fixture
def dynamodb(dynamodb_server: str) -> Iterator[str]:
    """Empty tables for every test, and what functions remember of them."""
    from functions.appserver import integration
    from functions.network import gateway_registry

    integration.forget()
    gateway_registry.forget()
    for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
    yield dynamodb_server
