"""Read the synthesized CloudFormation template: the functions, their environment, the topic rules
and the tables, so the local cloud runs exactly what `cdk deploy` would create.

Intrinsic functions are resolved against local stand-ins (table and function names are their logical
ids); an intrinsic the local cloud does not know raises, rather than giving a function a wrong value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "eu-west-1"


class TemplateError(ValueError):
    """The template holds something the local cloud cannot stand in for."""


@dataclass(frozen=True)
class FunctionDef:
    """One Lambda function as the template defines it."""

    name: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int


@dataclass(frozen=True)
class RuleDef:
    """One IoT topic rule: its SQL, the function its Lambda action invokes, and its name on AWS, which
    Basic Ingest topics (`$aws/rules/<rule_name>/...`) address (the logical id if the template has none)."""

    name: str
    sql: str
    function: str
    rule_name: str = ""


@dataclass(frozen=True)
class TableDef:
    """One DynamoDB table: the arguments `create_table` needs, and the TTL attribute if any."""

    name: str
    create_args: dict[str, Any]
    ttl_attribute: str | None


@dataclass(frozen=True)
class LocalTemplate:
    """Everything the local cloud starts from one template."""

    functions: dict[str, FunctionDef]
    rules: list[RuleDef]
    tables: dict[str, TableDef]
    api_function: str | None
    outputs: dict[str, Any] = field(default_factory=dict)
    # What the bridge's container gets from the template that changes what it publishes (Basic Ingest).
    bridge_environment: dict[str, str] = field(default_factory=dict)


def synthesize(context: Mapping[str, object] | None = None) -> dict[str, Any]:
    """Synthesize the stack in-process as `cdk deploy` would from the shipped `cdk.json` (bridge included:
    the local cloud runs its own bridge process and ignores the template's Fargate and NLB resources),
    in the local account and region, without bundling (the local cloud runs the sources)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk

    from infra.app import build_app, shipped_context

    app, stack = build_app(
        {**shipped_context(), "aws:cdk:bundling-stacks": [], **(context or {})},
        nag=False,
        env=cdk.Environment(account=LOCAL_ACCOUNT, region=LOCAL_REGION),
    )
    assembly = app.synth()
    return dict(assembly.get_stack_by_name(stack.stack_name).template)


class _Resolver:
    def __init__(self, resources: Mapping[str, Any], attributes: Mapping[tuple[str, str], str]) -> None:
        self.resources = resources
        self.attributes = attributes

    def __call__(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self.ref(argument)
            if name == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if name == "Fn::Join":
                separator, parts = argument
                return str(separator).join(self(part) for part in parts)
        raise TemplateError(f"cannot resolve {json.dumps(value)[:200]} locally")

    def ref(self, logical_id: str) -> str:
        if logical_id == "AWS::Region":
            return LOCAL_REGION
        if logical_id == "AWS::AccountId":
            return LOCAL_ACCOUNT
        if logical_id == "AWS::Partition":
            return "aws"
        if logical_id in self.resources:
            return logical_id  # tables and functions are named by their logical id locally
        raise TemplateError(f"Ref to unknown {logical_id}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        kind = self.resources.get(logical_id, {}).get("Type")
        if attribute == "Arn" and kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{LOCAL_REGION}:{LOCAL_ACCOUNT}:key/{logical_id}"
        if attribute == "Arn" and kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{logical_id}"
        if attribute == "Arn" and kind in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
            return f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT}:table/{logical_id}"
        if attribute == "endpointAddress" and kind == "Custom::AWS":
            raise TemplateError("the IoT data endpoint must be given (the local IoT data API address)")
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} has no local stand-in")


def _table(logical_id: str, properties: Mapping[str, Any]) -> TableDef:
    args: dict[str, Any] = {
        "TableName": logical_id,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = properties.get("GlobalSecondaryIndexes")
    if indexes:
        args["GlobalSecondaryIndexes"] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in indexes
        ]
    ttl = properties.get("TimeToLiveSpecification") or {}
    return TableDef(
        name=logical_id,
        create_args=args,
        ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
    )


def _ours(handler: str) -> bool:
    """A handler whose top-level package is in this repository (CDK's helpers use `index.handler`)."""
    package = handler.split(".", 1)[0]
    return bool(package) and (ROOT / package).is_dir()


def load(template: Mapping[str, Any], *, iot_data_endpoint: str) -> LocalTemplate:
    """Read functions, rules, tables and the API's function from a synthesized template."""
    resources: Mapping[str, Any] = template["Resources"]
    endpoints = {
        (logical_id, "endpointAddress"): iot_data_endpoint
        for logical_id, resource in resources.items()
        if resource["Type"] == "Custom::AWS"
    }
    resolve = _Resolver(resources, endpoints)
    functions: dict[str, FunctionDef] = {}
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Lambda::Function" or not _ours(str(properties.get("Handler", ""))):
            continue  # CDK's own helper functions (custom resources, deployments) have no local role
        variables = properties.get("Environment", {}).get("Variables", {})
        environment = {key: resolve(value) for key, value in variables.items()}
        level = properties.get("LoggingConfig", {}).get("ApplicationLogLevel")
        if level:  # Lambda tells the runtime (and Powertools) the level it filters at
            environment["AWS_LAMBDA_LOG_LEVEL"] = str(level)
        functions[logical_id] = FunctionDef(
            name=logical_id,
            handler=properties["Handler"],
            environment=environment,
            timeout_s=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
        )
    rules = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IoT::TopicRule":
            continue
        payload = resource["Properties"]["TopicRulePayload"]
        for action in payload["Actions"]:
            if "Lambda" not in action:
                raise TemplateError(f"rule {logical_id}: only Lambda actions run locally")
            target = action["Lambda"]["FunctionArn"]["Fn::GetAtt"][0]
            rule_name = str(resource["Properties"].get("RuleName") or logical_id)
            rules.append(RuleDef(name=logical_id, sql=payload["Sql"], function=target, rule_name=rule_name))
    tables = {
        logical_id: _table(logical_id, resource["Properties"])
        for logical_id, resource in resources.items()
        if resource["Type"] in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
    }
    api_function = None
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGateway::Method":
            uri = resource["Properties"].get("Integration", {}).get("Uri", {})
            for part in json.dumps(uri).split('"'):
                if part in functions:
                    api_function = part
    return LocalTemplate(
        functions=functions,
        rules=rules,
        tables=tables,
        api_function=api_function,
        outputs=dict(template.get("Outputs", {})),
        bridge_environment=bridge_environment_of(resources),
    )


BRIDGE_VARIABLES = ("BRIDGE_BASIC_INGEST",)


def bridge_environment_of(resources: Mapping[str, Any]) -> dict[str, str]:
    """The bridge container's variables the local bridge must share with the deployed one."""
    found: dict[str, str] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        for container in resource["Properties"].get("ContainerDefinitions", []):
            for variable in container.get("Environment", []):
                if variable.get("Name") in BRIDGE_VARIABLES and isinstance(variable.get("Value"), str):
                    found[variable["Name"]] = variable["Value"]
    return found
