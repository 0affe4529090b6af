"""What every table model shares, whichever server owns it: the table name from the environment (the
CDK stack sets it from the table it creates out of the very model, see `infra/storage.py`, so code and
template cannot disagree), the endpoint, and the organization index. The models themselves live with
their owner: `functions/network/models.py` and `functions/appserver/models.py`."""

from __future__ import annotations

import os
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.shared.settings import SETTINGS


def table_meta(env: str, default: str) -> Any:
    """A model's `Meta`: its table named by the variable `env` (the deployed name), else `default`."""

    class Meta:
        table_env = env
        table_name = os.environ.get(env, default)
        region = SETTINGS.aws_region
        host = SETTINGS.dynamodb_endpoint
        billing_mode = "PAY_PER_REQUEST"

    return Meta


class OrganizationIndex(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """The items of one organization (tenant), for listing; sparse where `org_id` may be unset."""

    class Meta:
        index_name = "organization"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)


def table_env(model: type[Model]) -> str:
    """The environment variable that names `model`'s table."""
    return str(model.Meta.table_env)  # type: ignore[attr-defined]
