"""The local rules engine against the real synthesized template's rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.rules_engine import RulesEngine
from localcloud.template import LocalTemplate, RuleDef, load, synthesize


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    return load(synthesize(), iot_data_endpoint="127.0.0.1:1")


class Recorder:
    def __init__(self, fail_for: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.accepted: list[Callable[[], None] | None] = []  # each call's acceptance, called by the test
        self.fail_for = fail_for

    def __call__(
        self, function: str, event: dict[str, Any], on_accepted: Callable[[], None] | None = None
    ) -> None:
        if function == self.fail_for:
            raise ConnectionError("invoke failed")
        self.calls.append((function, event))
        self.accepted.append(on_accepted)


def _handler(template: LocalTemplate, function: str) -> str:
    return template.functions[function].handler


def test_a_gateway_uplink_starts_the_uplink_function_with_topic_fields(template: LocalTemplate) -> None:
    recorder = Recorder()
    engine = RulesEngine(template.rules, recorder)
    up = {"phyPayload": "QAEAAAAAAQABAgME", "rxInfo": {"gatewayId": "0102030405060708", "rssi": -57}}
    assert engine.on_message("eu868/gateway/0102030405060708/event/up", json.dumps(up).encode()) == 1
    ((function, event),) = recorder.calls
    assert _handler(template, function) == "functions.network.handlers.uplink.handler"
    assert event["phyPayload"] == up["phyPayload"] and event["rxInfo"] == up["rxInfo"]
    assert event["topic_prefix"] == "eu868" and event["topic_gateway_id"] == "0102030405060708"
    assert isinstance(event["received_at"], int)


@pytest.mark.parametrize(
    ("topic", "handler"),
    [
        ("eu868/gateway/0102030405060708/event/ack", "functions.network.handlers.tx_ack.handler"),
        ("eu868/gateway/0102030405060708/event/stats", "functions.network.handlers.gateway_events.handler"),
        ("eu868/gateway/0102030405060708/state/conn", "functions.network.handlers.gateway_events.handler"),
        (
            "application/7/device/0102030405060708/command/down",
            "functions.appserver.handlers.mqtt_downlink.handler",
        ),
    ],
)
def test_each_topic_reaches_the_function_the_template_names(
    template: LocalTemplate, topic: str, handler: str
) -> None:
    recorder = Recorder()
    assert RulesEngine(template.rules, recorder).on_message(topic, b"{}") == 1
    assert [_handler(template, f) for f, _ in recorder.calls] == [handler]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("eu868/gateway/0102030405060708/event/up", b"\x00not json"),
        ("eu868/gateway/0102030405060708/event/unknown", b"{}"),
        ("application/7/device/0102030405060708/event/up", b"{}"),
        ("eu868/gateway/0102030405060708/event/up", b"[1, 2]"),
    ],
)
def test_messages_no_rule_selects_start_nothing(template: LocalTemplate, topic: str, payload: bytes) -> None:
    recorder = Recorder()
    assert RulesEngine(template.rules, recorder).on_message(topic, payload) == 0
    assert recorder.calls == []


def test_non_json_payloads_are_counted(template: LocalTemplate) -> None:
    engine = RulesEngine(template.rules, Recorder())
    engine.on_message("eu868/gateway/01/event/up", b"\xff")
    assert engine.counts["not_json"] == 1


def test_a_failed_invoke_is_counted_and_other_rules_still_run() -> None:
    rules = [
        RuleDef("A", "SELECT * FROM 'x/#'", "FnA"),
        RuleDef("B", "SELECT * FROM 'x/+'", "FnB"),
    ]
    recorder = Recorder(fail_for="FnA")
    engine = RulesEngine(rules, recorder)
    assert engine.on_message("x/y", b"{}") == 1
    assert [f for f, _ in recorder.calls] == ["FnB"]
    assert engine.counts["error_action"] == 1


def test_topic_filters_are_subscribed_once_each(template: LocalTemplate) -> None:
    filters = RulesEngine(template.rules, Recorder()).topic_filters
    assert len(filters) == len(set(filters)) == 7  # the six rules' filters and Basic Ingest's `$aws/rules/#`
    assert {"+/gateway/+/event/up", "+/bridge/+/state/conn"} <= set(filters)


def test_basic_ingest_starts_only_the_named_rule_which_sees_the_topic_without_the_prefix(
    template: LocalTemplate,
) -> None:
    """`$aws/rules/<rule>/<topic>` reaches that rule only, and its `topic(n)` counts from `<topic>`, as
    IoT Core's Basic Ingest does; the rule names are the template's own (what the bridge publishes to)."""
    (uplink_rule,) = [r for r in template.rules if r.name.startswith("RulesGatewayUplink")]
    assert uplink_rule.rule_name == "Loraless_GatewayUplink"
    recorder = Recorder()
    engine = RulesEngine(template.rules, recorder)
    assert "$aws/rules/#" in engine.topic_filters  # `#` alone does not match topics starting with `$`
    up = {"phyPayload": "QAEAAAAAAQABAgME", "rxInfo": {"gatewayId": "0102030405060708"}}
    topic = "$aws/rules/Loraless_GatewayUplink/eu868/gateway/0102030405060708/event/up"
    assert engine.on_message(topic, json.dumps(up).encode()) == 1
    ((function, event),) = recorder.calls
    assert _handler(template, function) == "functions.network.handlers.uplink.handler"
    assert event["topic_prefix"] == "eu868" and event["topic_gateway_id"] == "0102030405060708"
    # another rule's name: only that rule runs, and its SQL decides (an uplink is no stats report)
    wrong = "$aws/rules/Loraless_GatewayStats/eu868/gateway/0102030405060708/event/up"
    assert engine.on_message(wrong, json.dumps(up).encode()) == 0
    unknown = "$aws/rules/NoSuchRule/eu868/gateway/0102030405060708/event/up"
    assert engine.on_message(unknown, json.dumps(up).encode()) == 0
    assert engine.counts["basic_ingest_unknown_rule"] == 1
    assert len(recorder.calls) == 1


def test_a_message_is_acknowledged_once_every_invocation_it_started_is_accepted() -> None:
    """The PUBACK waits for the invocation journal: a message that starts two functions is acknowledged
    after both are accepted, not before; one that starts nothing, or whose invoke failed, at once."""
    rules = [RuleDef("A", "SELECT * FROM 'x/#'", "FnA"), RuleDef("B", "SELECT * FROM 'x/+'", "FnB")]
    recorder = Recorder()
    engine = RulesEngine(rules, recorder)
    acknowledged: list[str] = []
    assert engine.on_message("x/y", b"{}", "", lambda: acknowledged.append("x/y")) == 2
    first, second = recorder.accepted
    assert first is not None and second is not None
    first()
    assert acknowledged == []
    second()
    assert acknowledged == ["x/y"]
    assert engine.on_message("other/topic", b"{}", "", lambda: acknowledged.append("other")) == 0
    failing = RulesEngine(rules, Recorder(fail_for="FnA"))
    assert failing.on_message("x/y/z", b"{}", "", lambda: acknowledged.append("failed")) == 0
    assert acknowledged == ["x/y", "other", "failed"]
