"""What every table model shares, whichever server owns it: the table name from the environment (the
CDK stack sets it from the table it creates out of the very model, see `infra/storage.py`, so code and
template cannot disagree), the endpoint, and the organization index. The models themselves live with
their owner: `functions/network/models.py` and `functions/appserver/models.py`."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection.table import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.settings import get_settings_value

from functions.shared.settings import SETTINGS

_CLIENT_LOCK = threading.Lock()  # botocore's client creation is not thread-safe (its clients are)


def table_meta(env: str, default: str) -> Any:
    """A model's `Meta`: its table named by the variable `env` (the deployed name), else `default`."""

    class Meta:
        table_env = env
        table_name = os.environ.get(env, default)
        region = SETTINGS.aws_region
        host = SETTINGS.dynamodb_endpoint
        billing_mode = "PAY_PER_REQUEST"

    return Meta


@lru_cache(maxsize=8)
def dynamodb_client(
    region: str, host: str | None, connect_timeout_s: float, read_timeout_s: float, attempts: int, pool: int
) -> Any:
    """The process's DynamoDB client for one endpoint, configured as PynamoDB configures its own
    (no parameter validation, standard retries, the models' timeouts and pool size)."""
    config = Config(
        parameter_validation=False,
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        max_pool_connections=pool,
        retries={"total_max_attempts": attempts, "mode": "standard"},
    )
    with _CLIENT_LOCK:
        return boto3.client("dynamodb", region_name=region, endpoint_url=host, config=config)


def default_client() -> Any:
    """The client of every model with the default settings, made when this module is imported if the
    environment holds credentials (see the end of the module)."""
    return dynamodb_client(
        SETTINGS.aws_region,
        SETTINGS.dynamodb_endpoint,
        get_settings_value("connect_timeout_seconds"),
        get_settings_value("read_timeout_seconds"),
        1 + get_settings_value("max_retry_attempts"),
        get_settings_value("max_pool_connections"),
    )


class SharedClientModel(Model):
    """A model whose requests go through the process's one DynamoDB client. PynamoDB gives every model
    its own botocore session and client: each loads DynamoDB's service description again (about 9 MiB
    and 90 ms of CPU per model on its first request, bench/README.md) and opens its own
    connections, so a function touching ten tables paid ten times on each cold start, and every
    environment held ten copies. The clients of boto3's default session share one loader."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        connection = super()._get_connection()
        inner = connection.connection
        if inner._client is None:  # PynamoDB's own is made lazily on first use: ours instead
            meta = cls.Meta
            inner._client = dynamodb_client(
                meta.region,
                meta.host,
                meta.connect_timeout_seconds,
                meta.read_timeout_seconds,
                1 + meta.max_retry_attempts,
                meta.max_pool_connections,
            )
        return connection


class OrganizationIndex(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """The items of one organization (tenant), for listing; sparse where `org_id` may be unset."""

    class Meta:
        index_name = "organization"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)


def table_env(model: type[Model]) -> str:
    """The environment variable that names `model`'s table."""
    return str(model.Meta.table_env)  # type: ignore[attr-defined]


# Made at import where the environment holds the credentials (Lambda puts them there; so does the local
# cloud): in Lambda's init phase, as AWS advises, and, in the local cloud, once in a function's template
# process, so that its forked environments share DynamoDB's loaded service description instead of each
# loading it again (a client opens no connection before its first request: the fork stays safe).
# Without them, making a client looks for credentials, instance metadata included, which opens a
# connection: then it is made at the first request, as before.
if os.environ.get("AWS_ACCESS_KEY_ID"):
    default_client()
