"""DynamoDB tables made from the PynamoDB models, so the code and the template cannot disagree.

Each model class contributes one table: its key schema, global secondary indexes and TTL attribute
are read from the model itself. The functions find a table through the environment variable that
`functions/shared/settings.py` reads for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


@dataclass(frozen=True)
class TableSpec:
    """What a table needs, as read from one PynamoDB model."""

    construct_id: str
    env_var: str
    schema: dict[str, Any]
    ttl_attribute: str | None


def spec_of(model: Any, env_var: str) -> TableSpec:
    """Read the key schema, indexes and TTL attribute from a PynamoDB model class."""
    ttl = model._ttl_attribute()
    return TableSpec(
        construct_id=model.__name__,
        env_var=env_var,
        schema=model._get_schema(),
        ttl_attribute=ttl.attr_name if ttl is not None else None,
    )


def _attribute(
    schema: dict[str, Any], key_type: str, key_schema: list[dict[str, str]]
) -> dynamodb.Attribute | None:
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for key in key_schema:
        if key["KeyType"] == key_type:
            return dynamodb.Attribute(name=key["AttributeName"], type=_TYPES[types[key["AttributeName"]]])
    return None


class Storage(Construct):
    """On-demand tables with point-in-time recovery, encrypted with the stack's key, retained on delete."""

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, specs: Iterable[TableSpec]
    ) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {}
        self.environment: dict[str, str] = {}
        for spec in specs:
            table = self._table(spec, key)
            self.tables[spec.construct_id] = table
            self.environment[spec.env_var] = table.table_name

    def _table(self, spec: TableSpec, key: kms.IKey) -> dynamodb.Table:
        schema = spec.schema
        partition = _attribute(schema, "HASH", schema["key_schema"])
        assert partition is not None, f"{spec.construct_id} has no hash key"
        table = dynamodb.Table(
            self,
            spec.construct_id,
            partition_key=partition,
            sort_key=_attribute(schema, "RANGE", schema["key_schema"]),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema.get("global_secondary_indexes", []):
            merged = {
                "attribute_definitions": schema["attribute_definitions"] + index["attribute_definitions"]
            }
            projection = index["projection"]
            partition_key = _attribute(merged, "HASH", index["key_schema"])
            assert partition_key is not None
            table.add_global_secondary_index(
                index_name=index["index_name"],
                partition_key=partition_key,
                sort_key=_attribute(merged, "RANGE", index["key_schema"]),
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
        return table
