"""IoT rules (their SQL and targets) and the per-gateway policy."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest


def _rules(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TopicRulePayload"]["Sql"]: r["Properties"]["TopicRulePayload"]
        for r in resources.values()
        if r["Type"] == "AWS::IoT::TopicRule"
    }


def _handler_of(resources: dict[str, dict[str, Any]], function_arn: Any) -> str:
    logical_id = function_arn["Fn::GetAtt"][0]
    return str(resources[logical_id]["Properties"]["Handler"])


@pytest.mark.parametrize(
    ("topic_filter", "handler"),
    [
        ("'+/gateway/+/event/up'", "functions.network.handlers.uplink.handler"),
        ("'+/gateway/+/event/ack'", "functions.network.handlers.tx_ack.handler"),
        ("'+/gateway/+/event/stats'", "functions.network.handlers.gateway_events.handler"),
        ("'+/gateway/+/state/conn'", "functions.network.handlers.gateway_events.handler"),
        ("'+/bridge/+/state/conn'", "functions.network.handlers.gateway_events.handler"),
        ("'application/+/device/+/command/down'", "functions.appserver.handlers.mqtt_downlink.handler"),
    ],
)
def test_each_topic_reaches_its_handler_and_failures_reach_the_dead_letter_queue(
    resources: Any, topic_filter: str, handler: str
) -> None:
    matching = {sql: rule for sql, rule in _rules(resources).items() if sql.endswith(f"FROM {topic_filter}")}
    assert len(matching) == 1, matching.keys()
    (sql, rule) = next(iter(matching.items()))
    assert sql.startswith("SELECT *, topic(")
    assert rule["AwsIotSqlVersion"] == "2016-03-23"
    (action,) = rule["Actions"]
    assert _handler_of(resources, action["Lambda"]["FunctionArn"]) == handler
    assert "QueueUrl" in rule["ErrorAction"]["Sqs"]


def test_iot_may_invoke_exactly_the_rule_targets(resources: Any) -> None:
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "iot.amazonaws.com"
    ]
    assert len(permissions) == len(_rules(resources))
    assert all("SourceArn" in p for p in permissions)


def test_gateway_policy_binds_every_topic_to_the_certificates_thing(resources: Any, synthesized: Any) -> None:
    policies = [
        r["Properties"]["PolicyDocument"]
        for name, r in resources.items()
        if r["Type"] == "AWS::IoT::Policy" and name.startswith("GatewayPolicy")
    ]
    (document,) = policies
    text = json.dumps(document)
    by_action = {
        s["Action"] if isinstance(s["Action"], str) else s["Action"][0]: s for s in document["Statement"]
    }
    assert set(by_action) == {"iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"}
    assert by_action["iot:Connect"]["Condition"] == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
    for action in ("iot:Publish", "iot:Subscribe", "iot:Receive"):
        resources_ = by_action[action]["Resource"]
        resources_ = resources_ if isinstance(resources_, list) else [resources_]
        for resource in resources_:
            flat = json.dumps(resource)
            assert "/gateway/${iot:Connection.Thing.ThingName}/" in flat, flat
            assert "/gateway/*" not in flat
    assert all(f"{prefix}/gateway" in text for prefix in synthesized.region_prefixes)
    assert "application/" not in text


def test_application_policy_binds_its_topics_to_the_applications_thing(resources: Any) -> None:
    (document,) = [
        r["Properties"]["PolicyDocument"]
        for name, r in resources.items()
        if r["Type"] == "AWS::IoT::Policy" and name.startswith("ApplicationPolicy")
    ]
    by_action = {s["Action"]: s for s in document["Statement"]}
    assert set(by_action) == {"iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"}
    assert by_action["iot:Connect"]["Condition"] == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
    for action in ("iot:Publish", "iot:Subscribe", "iot:Receive"):
        flat = json.dumps(by_action[action]["Resource"])
        assert "application/${iot:Connection.Thing.ThingName}/" in flat, flat
        assert "gateway" not in flat
    assert re.search(r'/device/\*/command/down"(]]})?$', json.dumps(by_action["iot:Publish"]["Resource"]))


def test_the_local_broker_enforces_exactly_the_templates_policies(synthesized: Any) -> None:
    """The rules the local broker's plugin applies are read from these policies; a broker started
    without a template uses default_rules, which must say the same (issue 15)."""
    from localcloud.broker import BRIDGE_CLIENT_PREFIX
    from localcloud.policies import default_rules, rules_from_template

    template = synthesized.template
    assert sorted(rules_from_template(template)) == sorted(default_rules(synthesized.region_prefixes))
    (bridge,) = [r for n, r in template["Resources"].items() if n.startswith("BridgePolicy")]
    (connect,) = [
        s for s in bridge["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "iot:Connect"
    ]
    assert re.search(rf":client/{BRIDGE_CLIENT_PREFIX}\*\"(]]}})?$", json.dumps(connect["Resource"]))
