"""The pricing arithmetic of bench/cost.py on fixed counts (no timings): what a frame costs from what the
meters counted, and the fixed monthly cost from a template's resources."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.cost import (
    HOURS_PER_MONTH,
    PRICES,
    Counts,
    FunctionConfig,
    as_deployed,
    dollars_per_million,
    fixed_monthly,
    shape_floor,
    usage_per_frame,
    xray_sampled,
)

UPLINK = "functions.network.handlers.uplink.handler"
EVENTS = "functions.appserver.handlers.network_events.handler"


def counts() -> Counts:
    """Ten frames: one uplink call (250 ms, 20 ms of it CPU) and one events call each."""
    return Counts(
        frames=10,
        calls=Counter({UPLINK: 10, EVENTS: 10}),
        billed_ms=Counter({UPLINK: 2500, EVENTS: 300}),
        cpu_ms=Counter({UPLINK: 200.0, EVENTS: 100.0}),
        traced_entries=Counter({UPLINK: 10}),
        messages=Counter({"gateway event/up": 10, "application event/up": 10}),
        deliveries=Counter({"application event/up": 10}),
        rules=Counter({"RulesGatewayUplink": 10}),
        wru={"PutItem UplinkCollection": 10.0, "UpdateItem Device": 20.0},
        rru={"Query DeviceSession": 5.0},
        kms=Counter({"Decrypt": 20}),
        log_bytes=Counter({f"{UPLINK}|WARNING": 1000, f"{UPLINK}|INFO": 5000}),
        log_events=Counter({f"{UPLINK}|WARNING": 10, f"{UPLINK}|INFO": 30}),
    )


def test_a_frame_is_priced_from_its_counts() -> None:
    configs = {
        UPLINK: FunctionConfig(memory_mb=1769, system_log_level="WARN", application_log_level="WARN"),
        EVENTS: FunctionConfig(memory_mb=1769, system_log_level="WARN", application_log_level="WARN"),
    }
    usage = usage_per_frame(counts(), configs, frames_per_s=100)
    assert usage["iot_message"] == 3  # two publishes and one delivery
    assert usage["iot_rule"] == usage["iot_action"] == 1
    assert usage["lambda_request"] == 2
    # at one vCPU (1,769 MB) nothing is stretched: 280 ms per frame at 1,769/1,024 GB
    assert usage["lambda_gb_s"] == pytest.approx(0.280 * 1769 / 1024)
    assert usage["dynamodb_wru"] == 3 and usage["dynamodb_rru"] == 0.5 and usage["kms_request"] == 2
    # at WARN: the warning lines only, no INFO lines, no platform lines; 26 bytes per event
    assert usage["logs_gb"] == pytest.approx((1000 + 26 * 10) / 10 / 1e9)
    assert usage["xray_trace"] == 0  # PassThrough
    dollars = dollars_per_million(usage)
    assert dollars["iot_message"] == pytest.approx(3.00)
    assert dollars["dynamodb_wru"] == pytest.approx(3 * 0.625)
    assert dollars["kms_request"] == pytest.approx(6.00)
    assert dollars["lambda_gb_s"] == pytest.approx(0.280 * 1769 / 1024 * 13.3334, rel=1e-4)


def test_less_memory_stretches_only_the_cpu_part_and_bills_less() -> None:
    def gb_s(memory: int) -> float:
        config = FunctionConfig(memory_mb=memory)
        return usage_per_frame(counts(), {UPLINK: config, EVENTS: config}, frames_per_s=1)["lambda_gb_s"]

    # 256 MB: CPU at 256/1769 of a vCPU: uplink 230 + 20 * 1769/256 ms, events 20 + 10 * 1769/256 ms
    expected = (230 + 20 * 1769 / 256 + 20 + 10 * 1769 / 256) / 1000 * 0.25
    assert gb_s(256) == pytest.approx(expected)
    assert gb_s(256) < gb_s(1024) / 2


def test_platform_lines_and_traces_follow_the_settings() -> None:
    verbose = FunctionConfig(memory_mb=1024, system_log_level="INFO", tracing="Active")
    usage = usage_per_frame(counts(), {UPLINK: verbose, EVENTS: verbose}, frames_per_s=0.5)
    quiet = usage_per_frame(
        counts(),
        {f: FunctionConfig(1024, "WARN", "WARN") for f in (UPLINK, EVENTS)},
        frames_per_s=0.5,
    )
    # INFO lines and a platform start + report per call (two calls per frame)
    assert usage["logs_gb"] > quiet["logs_gb"] + (5000 / 10 + 2 * 2 * 300) / 1e9
    assert usage["xray_trace"] == 1  # below one call a second, the reservoir records every one
    busy = usage_per_frame(counts(), {UPLINK: verbose, EVENTS: verbose}, frames_per_s=101)
    assert busy["xray_trace"] == pytest.approx((1 + 0.05 * 100) / 101)
    assert xray_sampled(101, 1, 0.01) == pytest.approx(2 / 101)


def test_the_shape_floor_is_a_message_a_rule_an_action_a_call_and_a_write() -> None:
    assert shape_floor(basic_ingest=False) == pytest.approx(1.00 + 0.15 + 0.15 + 0.20 + 0.625, abs=0.01)
    assert shape_floor(basic_ingest=True) == pytest.approx(shape_floor(basic_ingest=False) - 1.00)


def test_the_fixed_cost_counts_the_templates_resources() -> None:
    template = {
        "Resources": {
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Cpu": "512", "Memory": "1024"}},
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {"TaskDefinition": {"Ref": "Task"}, "DesiredCount": 2},
            },
            "Nlb": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Type": "network", "Scheme": "internet-facing", "Subnets": ["a", "b"]},
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Alarm1": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "Alarm2": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        }
    }
    cost = fixed_monthly(template)
    h = HOURS_PER_MONTH
    assert cost["NAT gateway x1 (+ its IPv4)"] == pytest.approx((0.045 + 0.005) * h)
    assert cost["Fargate 2 x (0.5 vCPU + 1 GB)"] == pytest.approx(2 * (0.5 * 0.03238 + 1 * 0.00356) * h)
    assert cost["Network Load Balancer"] == pytest.approx(0.0225 * h)
    assert cost["NLB public IPv4 x2"] == pytest.approx(2 * 0.005 * h)
    assert cost["KMS keys x1"] == PRICES["kms_key_month"].usd and cost["alarms x2"] == pytest.approx(0.20)
    small = {
        "Resources": {
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Cpu": "256", "Memory": "512"}},
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": {"Ref": "Task"},
                    "DesiredCount": 1,
                    "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "ENABLED"}},
                },
            },
        }
    }
    assert sum(fixed_monthly(small).values()) == pytest.approx((0.25 * 0.03238 + 0.5 * 0.00356 + 0.005) * h)


def test_gateway_events_are_messages_unless_the_template_sends_them_by_basic_ingest() -> None:
    measured = counts()
    measured.messages.pop("gateway event/up")
    measured.basic_ingest["gateway event/up"] = 10  # measured with Basic Ingest on
    on_broker = as_deployed(measured, {"Resources": {}})  # a template without BRIDGE_BASIC_INGEST
    assert on_broker.messages["gateway event/up"] == 10 and not on_broker.basic_ingest
    task = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "ContainerDefinitions": [
                {"Environment": [{"Name": "BRIDGE_BASIC_INGEST", "Value": "event/up=Loraless_GatewayUplink"}]}
            ]
        },
    }
    ingested = as_deployed(counts(), {"Resources": {"Task": task}})
    assert "gateway event/up" not in ingested.messages and ingested.basic_ingest["gateway event/up"] == 10
    assert ingested.messages["application event/up"] == 10
