"""The Lambdas, their wiring and permissions as the synthesized template states them."""

from __future__ import annotations

from typing import Any

from infra import appserver, network

HANDLERS = {spec.handler for spec in network.SPECS + appserver.SPECS}


def _functions(resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r["Properties"].get("Handler", "")).startswith("functions.")
    ]


def test_every_handler_is_a_python313_arm64_function_with_tracing_and_dead_letters(
    resources: Any, synthesized: Any
) -> None:
    functions = _functions(resources)
    assert {f["Handler"] for f in functions} == HANDLERS
    for function in functions:
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert "TargetArn" in function["DeadLetterConfig"]
        assert function["LoggingConfig"]["LogFormat"] == "JSON"
        assert len(function["Layers"]) == 1
        variables = function["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Loraless"
        assert variables["REGION_PREFIXES"] == ",".join(synthesized.region_prefixes)
        assert {"KMS_KEY_ID", "IOT_DATA_ENDPOINT"} <= variables.keys()


def test_functions_that_call_others_know_their_names(resources: Any) -> None:
    by_handler = {f["Handler"]: f["Environment"]["Variables"] for f in _functions(resources)}
    assert {"JOIN_SERVER_FUNCTION", "NETWORK_EVENTS_FUNCTION"} <= by_handler[network.UPLINK.handler].keys()
    assert "DOWNLINK_FUNCTION" in by_handler[appserver.API.handler]
    assert "DOWNLINK_FUNCTION" in by_handler[appserver.MQTT_DOWNLINK.handler]
    assert "DOWNLINK_FUNCTION" not in by_handler[network.UPLINK.handler]


def _policy_statements(resources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_no_function_may_use_every_iot_or_dynamodb_action(resources: Any) -> None:
    for statement in _policy_statements(resources):
        for action in _actions(statement):
            assert action not in ("iot:*", "dynamodb:*", "kms:*", "*"), statement
