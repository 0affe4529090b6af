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
        # traced when the caller sampled the call (the API stage); IoT rules never do (`tracing` in cdk.json)
        assert function["TracingConfig"] == {"Mode": "PassThrough"}
        assert "TargetArn" in function["DeadLetterConfig"]
        # warnings and errors only: no platform start/report lines, no per-frame INFO lines (`log_level`)
        assert function["LoggingConfig"] == {
            "LogFormat": "JSON", "SystemLogLevel": "WARN", "ApplicationLogLevel": "WARN",
            "LogGroup": function["LoggingConfig"]["LogGroup"],
        }  # fmt: skip
        assert function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "WARN"
        assert len(function["Layers"]) == 1
        variables = function["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Loraless"
        assert variables["REGION_PREFIXES"] == ",".join(synthesized.region_prefixes)
        assert variables["ALLOW_UNKNOWN_GATEWAYS"] == "false"  # ChirpStack's: registered gateways only
        assert (variables["DEDUP_WINDOW_MS"], variables["DOWNLINK_MARGIN_MS"]) == ("200", "500")
        assert {"KMS_KEY_ID", "IOT_DATA_ENDPOINT"} <= variables.keys()


def test_memory_is_sized_per_function_and_the_verbose_settings_apply(
    resources: Any, ha_resources: Any
) -> None:
    """The uplink path runs at 256 MB (bench/cost.py); `function_memory`, `log_level` and `tracing` in
    cdk.json change them (the `ha` context sets the other side of each)."""
    memory = {f["Handler"]: f["MemorySize"] for f in _functions(resources)}
    for spec in (network.UPLINK, network.TX_ACK, appserver.NETWORK_EVENTS):
        assert memory[spec.handler] == 256, spec.name
    verbose = {f["Handler"]: f for f in _functions(ha_resources)}
    assert verbose[network.UPLINK.handler]["MemorySize"] == 1024
    variables = verbose[network.UPLINK.handler]["Environment"]["Variables"]
    assert (variables["DEDUP_WINDOW_MS"], variables["DOWNLINK_MARGIN_MS"]) == ("400", "800")
    assert verbose[network.TX_ACK.handler]["MemorySize"] == 256
    for function in verbose.values():
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert function["LoggingConfig"]["SystemLogLevel"] == "INFO"
        assert function["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    (rule,) = [r for r in ha_resources.values() if r["Type"] == "AWS::XRay::SamplingRule"]
    assert rule["Properties"]["SamplingRule"]["FixedRate"] <= 0.05
    assert not [r for r in resources.values() if r["Type"] == "AWS::XRay::SamplingRule"]


def test_functions_that_call_others_know_their_names(resources: Any) -> None:
    by_handler = {f["Handler"]: f["Environment"]["Variables"] for f in _functions(resources)}
    # the uplink function delivers its frames' events itself and hands them to the application's webhook
    assert {"JOIN_SERVER_FUNCTION", "WEBHOOK_FUNCTION"} <= by_handler[network.UPLINK.handler].keys()
    assert "NETWORK_EVENTS_FUNCTION" not in by_handler[network.UPLINK.handler]
    assert "NETWORK_EVENTS_FUNCTION" in by_handler[network.TX_ACK.handler]
    assert "DOWNLINK_FUNCTION" in by_handler[appserver.API.handler]
    assert "DOWNLINK_FUNCTION" in by_handler[appserver.MQTT_DOWNLINK.handler]
    assert "DOWNLINK_FUNCTION" not in by_handler[network.UPLINK.handler]


def test_the_tracer_runs_only_where_a_caller_may_have_sampled_the_call(
    resources: Any, ha_resources: Any
) -> None:
    """With `PassThrough` (shipped) a function records a trace only when its caller sampled the call:
    API Gateway (its stage is traced) and, following the `*_FUNCTION` names each function invokes, what
    the API reaches. Everywhere else Powertools' tracer is off (it would wrap every AWS request for
    nothing); with `Active` it runs everywhere."""
    functions = {
        logical_id: r["Properties"]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r["Properties"].get("Handler", "")).startswith("functions.")
    }

    def callees(logical_id: str) -> set[str]:
        variables = functions[logical_id]["Environment"]["Variables"]
        return {v["Ref"] for k, v in variables.items() if k.endswith("_FUNCTION") and isinstance(v, dict)}

    (api,) = [i for i, f in functions.items() if f["Handler"] == appserver.API.handler]
    reached, frontier = {api}, [api]
    while frontier:
        for callee in callees(frontier.pop()) - reached:
            reached.add(callee)
            frontier.append(callee)
    assert len(reached) > 1  # the API invokes the downlink function, which hands events on
    for logical_id, function in functions.items():
        disabled = function["Environment"]["Variables"].get("POWERTOOLS_TRACE_DISABLED")
        assert disabled == (None if logical_id in reached else "true"), function["Handler"]
    by_handler = {f["Handler"]: f["Environment"]["Variables"] for f in functions.values()}
    assert by_handler[network.UPLINK.handler]["POWERTOOLS_TRACE_DISABLED"] == "true"
    for r in ha_resources.values():
        if r["Type"] == "AWS::Lambda::Function" and str(r["Properties"].get("Handler", "")).startswith(
            "functions."
        ):
            assert "POWERTOOLS_TRACE_DISABLED" not in r["Properties"]["Environment"]["Variables"]


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
