"""What Loraless costs on AWS, from what the local cloud measures: the bill per million uplinks of four
scenarios and the fixed monthly cost of the stack at rest, at us-east-1 list prices.

    python -m bench.cost [--devices 10] [--fleet 10000 --every-minutes 10] [-c name=value ...]

Every scenario runs through the real local cloud (bench/local_cloud.py: the bridge process, Mosquitto, the
IoT rules engine, the Lambda workers, DynamoDB on moto) with the stack synthesized from `cdk.json`
(`-c` overrides a context value, to price another setting): (a) an unconfirmed uplink heard by one
gateway, (b) heard by three, (c) a confirmed uplink answered by a downlink, (d) an OTAA join. Counted
per scenario, per frame:
- IoT Core: every MQTT publish by topic and size (5 KB units) and its deliveries to subscribers (the
  bridge for gateway commands, one application client for application events); publishes on Basic
  Ingest topics (`$aws/rules/...`) are not messages; rules triggered and their actions.
- Lambda: requests per function and milliseconds billed (each call rounded up to 1 ms) at the memory
  the synthesized template gives the function; KMS GenerateDataKey/Decrypt calls counted inside the
  functions where the master key is called, below the data-key reuse and cache of
  functions/shared/envelope.py (the local master key goes through them as KMS does), so warm
  environments count what they would call on AWS.
- DynamoDB: read and write units from the items actually sent and stored (the larger of the item before
  and after a write, 1 KB units; 4 KB units for reads, half for eventually consistent ones).
- CloudWatch Logs: the bytes the functions print that pass the template's application log level, plus
  Lambda's own platform lines (start, report) where the system log level lets them through, plus 26 bytes
  per event as PutLogEvents counts them. X-Ray: traces at the template's tracing mode.
Prices are list prices as last known (this machine reaches no AWS site): PRICES below, with sources.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730
KB = 1024


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


# us-east-1 list prices as last known (read 2026-12-04 where a stored copy of the page was found; no AWS
# site is reachable from here, so re-check them in the AWS Pricing Calculator before relying on them).
PRICES: dict[str, Price] = {
    "iot_message": Price(1.00e-6, "message (5 KB units)", "aws.amazon.com/iot-core/pricing, first 1 billion"),
    "iot_rule": Price(0.15e-6, "rule triggered", "aws.amazon.com/iot-core/pricing"),
    "iot_action": Price(0.15e-6, "action applied", "aws.amazon.com/iot-core/pricing"),
    "lambda_request": Price(0.20e-6, "request", "aws.amazon.com/lambda/pricing"),
    "lambda_gb_s": Price(0.0000133334, "GB-second, arm64", "aws.amazon.com/lambda/pricing, first 7.5 B GB-s"),
    "dynamodb_wru": Price(
        0.625e-6, "write request unit", "aws.amazon.com/dynamodb/pricing/on-demand (Nov 2024)"
    ),
    "dynamodb_rru": Price(
        0.125e-6, "read request unit", "aws.amazon.com/dynamodb/pricing/on-demand (Nov 2024)"
    ),
    "kms_request": Price(0.03e-4, "request", "aws.amazon.com/kms/pricing"),
    "logs_gb": Price(0.50, "GB ingested", "aws.amazon.com/cloudwatch/pricing, standard logs"),
    "xray_trace": Price(5.00e-6, "trace recorded", "aws.amazon.com/xray/pricing"),
    # fixed, per hour or per month
    "fargate_vcpu_h": Price(0.03238, "vCPU-hour, arm64", "aws.amazon.com/fargate/pricing"),
    "fargate_gb_h": Price(0.00356, "GB-hour, arm64", "aws.amazon.com/fargate/pricing"),
    "nat_h": Price(0.045, "NAT gateway-hour", "aws.amazon.com/vpc/pricing"),
    "nlb_h": Price(0.0225, "NLB-hour", "aws.amazon.com/elasticloadbalancing/pricing"),
    "ipv4_h": Price(0.005, "public IPv4 address-hour", "aws.amazon.com/vpc/pricing (since Feb 2024)"),
    "endpoint_h": Price(0.01, "interface endpoint-hour per zone", "aws.amazon.com/privatelink/pricing"),
    "kms_key_month": Price(1.00, "customer managed key-month", "aws.amazon.com/kms/pricing"),
    "secret_month": Price(0.40, "secret-month", "aws.amazon.com/secrets-manager/pricing"),
    "alarm_month": Price(0.10, "standard alarm-month", "aws.amazon.com/cloudwatch/pricing"),
    "dashboard_month": Price(3.00, "dashboard-month", "aws.amazon.com/cloudwatch/pricing"),
    "metric_month": Price(0.30, "custom metric-month", "aws.amazon.com/cloudwatch/pricing"),
}
# AWS IoT Core for LoRaWAN, the managed alternative: per device message (uplink or downlink), first tier.
# Looked up on 2026-12-04 with the search tool (pages and docs corpora): the stored copies of
# aws.amazon.com/iot-core/pricing hold the MQTT tiers but not the LoRaWAN section, so this is the figure
# as last known from that page's "AWS IoT Core for LoRaWAN" table (us-east-1, first 1 billion messages per
# month), not re-read: re-check it before quoting.
LORAWAN_MESSAGE = Price(2.30e-6, "LoRaWAN device message", "aws.amazon.com/iot-core/pricing, LoRaWAN, tier 1")
# Container Insights (not enhanced) on one cluster with one service: cluster, service and task metrics.
CONTAINER_INSIGHTS_METRICS = 25
# Lambda's platform lines in JSON log format (system log level INFO): `platform.start` and
# `platform.report` per invocation, as CloudWatch shows them (sizes of real lines, ids of real length).
PLATFORM_START = (
    '{"time":"2026-12-04T10:00:00.000Z","type":"platform.start","record":'
    '{"requestId":"6f0c3c33-4b5c-4d8e-9f1a-2b3c4d5e6f70","version":"$LATEST"}}'
)
PLATFORM_REPORT = (
    '{"time":"2026-12-04T10:00:00.227Z","type":"platform.report","record":'
    '{"requestId":"6f0c3c33-4b5c-4d8e-9f1a-2b3c4d5e6f70","metrics":{"durationMs":226.81,'
    '"billedDurationMs":227,"memorySizeMB":1024,"maxMemoryUsedMB":118},"tracing":{"spanId":'
    '"4e1c2a3b4c5d6e7f","type":"X-Amzn-Trace-Id","value":"Root=1-6751e5a0-3c2b1a0f9e8d7c6b5a493827;'
    'Parent=4e1c2a3b4c5d6e7f;Sampled=1"},"status":"success"}}'
)
LOG_EVENT_OVERHEAD = 26  # bytes per event, as PutLogEvents counts a batch
LEVELS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "WARN": 30,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
    "FATAL": 50,
}
# X-Ray's default sampling rule, which Lambda's active tracing applies: 1 request/s, then 5 %.
XRAY_RESERVOIR_PER_S, XRAY_RATE = 1.0, 0.05


# -- pricing (pure; tests/unit/test_cost_model.py checks it on fixed counts) ---------------------------


@dataclass(frozen=True)
class FunctionConfig:
    """What the template says about one function: memory, log levels, tracing."""

    memory_mb: int
    system_log_level: str = "INFO"
    application_log_level: str = "INFO"
    tracing: str = "PassThrough"


@dataclass
class Counts:
    """What one scenario did, for `frames` frames (uplinks or joins), as the meters saw it."""

    frames: int
    calls: Counter[str] = field(default_factory=Counter)  # function -> invocations
    billed_ms: Counter[str] = field(default_factory=Counter)  # function -> sum of billed ms
    cpu_ms: Counter[str] = field(default_factory=Counter)
    traced_entries: Counter[str] = field(default_factory=Counter)  # function -> calls a rule started
    messages: Counter[str] = field(default_factory=Counter)  # kind -> 5 KB units published
    deliveries: Counter[str] = field(default_factory=Counter)  # kind -> deliveries to subscribers
    basic_ingest: Counter[str] = field(default_factory=Counter)  # kind -> publishes not billed as messages
    rules: Counter[str] = field(default_factory=Counter)  # rule -> triggered (one Lambda action each)
    wru: dict[str, float] = field(default_factory=dict)  # "Operation Table" -> write units
    rru: dict[str, float] = field(default_factory=dict)
    kms: Counter[str] = field(default_factory=Counter)  # operation -> requests
    log_bytes: Counter[str] = field(default_factory=Counter)  # "function|LEVEL" -> bytes printed
    log_events: Counter[str] = field(default_factory=Counter)  # "function|LEVEL" -> lines printed


def xray_sampled(
    calls_per_s: float, reservoir_per_s: float = XRAY_RESERVOIR_PER_S, rate: float = XRAY_RATE
) -> float:
    """Fraction of entry calls a sampling rule records at this rate (the reservoir, then the fixed rate)."""
    if calls_per_s <= reservoir_per_s:
        return 1.0
    return (reservoir_per_s + rate * (calls_per_s - reservoir_per_s)) / calls_per_s


def sampling_of(template: Mapping[str, Any]) -> tuple[float, float]:
    """The stack's own X-Ray sampling rule (reservoir, fixed rate), else X-Ray's default."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::XRay::SamplingRule":
            rule = resource["Properties"]["SamplingRule"]
            return float(rule["ReservoirSize"]), float(rule["FixedRate"])
    return XRAY_RESERVOIR_PER_S, XRAY_RATE


ONE_VCPU_MB = 1769  # Lambda gives a function one vCPU at 1,769 MB, in proportion below


def aws_ms(counts: Counts, function: str, memory_mb: int) -> float:
    """Milliseconds billed on AWS for the function's calls: the measured wall time, with its CPU part
    stretched to the CPU share its memory buys (the local workers ran at a whole core's speed)."""
    stretch = max(1.0, ONE_VCPU_MB / memory_mb) - 1.0
    return counts.billed_ms[function] + counts.cpu_ms[function] * stretch


def usage_per_frame(
    counts: Counts,
    functions: Mapping[str, FunctionConfig],
    *,
    frames_per_s: float,
    sampling: tuple[float, float] = (XRAY_RESERVOIR_PER_S, XRAY_RATE),
) -> dict[str, float]:
    """Billing units per frame; `frames_per_s` (the fleet's rate) and the X-Ray `sampling` rule in force
    (reservoir per second, then a fixed rate) decide how many traces active tracing records."""
    n = max(counts.frames, 1)
    gb_s = sum(
        aws_ms(counts, f, functions[f].memory_mb) / 1000 * functions[f].memory_mb / 1024
        for f in counts.billed_ms
        if f in functions
    )
    platform = 0
    printed, events = 0, 0
    for key, size in counts.log_bytes.items():  # Lambda drops lines below the application log level
        function, _, level = key.partition("|")
        config = functions.get(function)
        if LEVELS.get(level, 20) >= LEVELS[config.application_log_level if config else "INFO"]:
            printed, events = printed + size, events + counts.log_events[key]
    for function, calls in counts.calls.items():
        config = functions.get(function)
        if config is not None and LEVELS[config.system_log_level] <= LEVELS["INFO"]:
            platform += calls * (len(PLATFORM_START) + len(PLATFORM_REPORT))
            events += 2 * calls
    log_bytes = printed + platform + LOG_EVENT_OVERHEAD * events
    traces = 0.0
    for function, entries in counts.traced_entries.items():
        config = functions.get(function)
        if config is not None and config.tracing == "Active":
            traces += entries * xray_sampled(frames_per_s * entries / n, *sampling)
    return {
        "iot_message": (sum(counts.messages.values()) + sum(counts.deliveries.values())) / n,
        "iot_rule": sum(counts.rules.values()) / n,
        "iot_action": sum(counts.rules.values()) / n,
        "lambda_request": sum(counts.calls.values()) / n,
        "lambda_gb_s": gb_s / n,
        "dynamodb_wru": sum(counts.wru.values()) / n,
        "dynamodb_rru": sum(counts.rru.values()) / n,
        "kms_request": sum(counts.kms.values()) / n,
        "logs_gb": log_bytes / n / 1e9,
        "xray_trace": traces / n,
    }


def dollars_per_million(usage: Mapping[str, float]) -> dict[str, float]:
    return {item: quantity * PRICES[item].usd * 1e6 for item, quantity in usage.items()}


def shape_floor(*, basic_ingest: bool) -> float:
    """The least any gateway copy can cost in this shape (gateway -> IoT Core -> rule -> Lambda that
    de-duplicates with a conditional write): one IoT message (none on Basic Ingest), one rule and its
    action, one Lambda request with its shortest billed time (1 ms at 128 MB), one write unit."""
    message = 0.0 if basic_ingest else PRICES["iot_message"].usd
    return 1e6 * (
        message
        + PRICES["iot_rule"].usd
        + PRICES["iot_action"].usd
        + PRICES["lambda_request"].usd
        + 0.001 * 128 / 1024 * PRICES["lambda_gb_s"].usd
        + PRICES["dynamodb_wru"].usd
    )


# -- fixed cost from the synthesized template -----------------------------------------------------------


def fixed_monthly(template: Mapping[str, Any]) -> dict[str, float]:
    """The stack's monthly cost at rest, from its resources: NAT gateways, Fargate tasks (desired count x
    the task definition's CPU and memory), load balancers, public IPv4 addresses (NAT, internet-facing NLB
    per subnet, tasks with a public IP), interface endpoints, KMS keys, secrets, alarms, dashboards and
    Container Insights."""
    resources: Mapping[str, Any] = template["Resources"]
    by_type: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for logical_id, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append((logical_id, resource.get("Properties", {})))
    h = HOURS_PER_MONTH
    cost: dict[str, float] = {}
    nats = len(by_type.get("AWS::EC2::NatGateway", []))
    if nats:
        cost[f"NAT gateway x{nats} (+ its IPv4)"] = nats * (PRICES["nat_h"].usd + PRICES["ipv4_h"].usd) * h
    tasks: dict[str, Mapping[str, Any]] = dict(by_type.get("AWS::ECS::TaskDefinition", []))
    for _, service in by_type.get("AWS::ECS::Service", []):
        definition = tasks.get(str(service.get("TaskDefinition", {}).get("Ref", "")), {})
        count = int(service.get("DesiredCount", 1))
        vcpu, gb = int(definition.get("Cpu", 256)) / 1024, int(definition.get("Memory", 512)) / 1024
        per_task = (vcpu * PRICES["fargate_vcpu_h"].usd + gb * PRICES["fargate_gb_h"].usd) * h
        cost[f"Fargate {count} x ({vcpu:g} vCPU + {gb:g} GB)"] = count * per_task
        network = service.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        if network.get("AssignPublicIp") == "ENABLED":
            cost[f"public IPv4 of {count} task(s)"] = count * PRICES["ipv4_h"].usd * h
    for _, balancer in by_type.get("AWS::ElasticLoadBalancingV2::LoadBalancer", []):
        if balancer.get("Type") == "network":
            zones = len(balancer.get("Subnets", balancer.get("SubnetMappings", [])))
            cost["Network Load Balancer"] = cost.get("Network Load Balancer", 0.0) + PRICES["nlb_h"].usd * h
            if balancer.get("Scheme") != "internal":
                cost[f"NLB public IPv4 x{zones}"] = zones * PRICES["ipv4_h"].usd * h
    endpoints = [
        p for _, p in by_type.get("AWS::EC2::VPCEndpoint", []) if p.get("VpcEndpointType") == "Interface"
    ]
    if endpoints:
        zones = sum(len(p.get("SubnetIds", [])) for p in endpoints)
        cost[f"interface endpoints x{len(endpoints)}"] = zones * PRICES["endpoint_h"].usd * h
    simple = (
        ("AWS::KMS::Key", "KMS keys", "kms_key_month"),
        ("AWS::SecretsManager::Secret", "secrets", "secret_month"),
        ("AWS::CloudWatch::Alarm", "alarms", "alarm_month"),
        ("AWS::CloudWatch::Dashboard", "dashboards", "dashboard_month"),
    )
    for kind, name, price in simple:
        count = len(by_type.get(kind, []))
        if count:
            cost[f"{name} x{count}"] = count * PRICES[price].usd
    for _, cluster in by_type.get("AWS::ECS::Cluster", []):
        settings = {s.get("Name"): s.get("Value") for s in cluster.get("ClusterSettings", [])}
        if settings.get("containerInsights") in ("enabled", "enhanced"):
            cost[f"Container Insights (~{CONTAINER_INSIGHTS_METRICS} metrics)"] = (
                CONTAINER_INSIGHTS_METRICS * PRICES["metric_month"].usd
            )
    return cost


def function_configs(template: Mapping[str, Any]) -> dict[str, FunctionConfig]:
    """Per function handler of ours: memory, log levels and tracing as the template sets them."""
    configs: dict[str, FunctionConfig] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        handler = str(properties.get("Handler", ""))
        if not handler.startswith("functions."):
            continue
        logging_config = properties.get("LoggingConfig", {})
        configs[handler] = FunctionConfig(
            memory_mb=int(properties.get("MemorySize", 128)),
            system_log_level=str(logging_config.get("SystemLogLevel", "INFO")),
            application_log_level=str(logging_config.get("ApplicationLogLevel", "INFO")),
            tracing=str(properties.get("TracingConfig", {}).get("Mode", "PassThrough")),
        )
    return configs


def ingested(template: Mapping[str, Any]) -> dict[str, str]:
    """Gateway events the template's bridge sends by Basic Ingest: kind (`event/up`) -> rule name."""
    from functions.bridge.config import parse_basic_ingest
    from localcloud.template import bridge_environment_of

    return parse_basic_ingest(bridge_environment_of(template["Resources"]).get("BRIDGE_BASIC_INGEST", ""))


def as_deployed(counts: Counts, template: Mapping[str, Any]) -> Counts:
    """The measured counts as this template's bridge would send them: a gateway event it sends by Basic
    Ingest is no message, one it sends to the broker is (nobody subscribes to raw gateway events)."""
    kinds = {f"gateway {kind}" for kind in ingested(template)}
    messages, ingest = Counter(counts.messages), Counter[str]()
    for kind, publishes in (counts.messages + counts.basic_ingest).items():
        if kind in kinds:
            ingest[kind] += publishes
            messages.pop(kind, None)
        elif kind.startswith("gateway event/"):
            messages[kind] = publishes
    return replace(counts, messages=messages, basic_ingest=ingest)


# -- measuring ---------------------------------------------------------------------------------------------


KMS_COUNTER = """\
import os
import functions.shared.envelope as _envelope

_log = os.environ["LORALESS_BENCH_KMS_LOG"]
_wrap, _unwrap = _envelope._wrap_data_key, _envelope._unwrap_data_key


def _count(operation):
    with open(_log, "a") as sink:
        sink.write(operation + "\\n")


def _counted_wrap(context):
    _count("GenerateDataKey")
    return _wrap(context)


def _counted_unwrap(wrapped, backend, context):
    _count("Decrypt")
    return _unwrap(wrapped, backend, context)


_envelope._wrap_data_key, _envelope._unwrap_data_key = _counted_wrap, _counted_unwrap
"""


class CapacityMeter:
    """DynamoDB read and write units per request at the local cloud's DynamoDB dispatcher
    (`localcloud.dynamodb_server.Dispatcher`, every request any function makes), from the items
    themselves."""

    def __init__(self) -> None:
        from moto.dynamodb.models import dynamodb_backends

        from localcloud.dynamodb_server import ACCOUNT, Dispatcher

        self.lock = threading.Lock()
        self.recording = False
        self.wru: dict[str, float] = {}
        self.rru: dict[str, float] = {}
        original = Dispatcher.__call__
        meter = self

        def metered(dispatcher: Dispatcher, operation: str, body: bytes) -> tuple[int, bytes]:
            if not meter.recording:
                return original(dispatcher, operation, body)
            try:
                request = json.loads(body or b"{}")
            except (TypeError, ValueError):
                request = {}
            backend = dynamodb_backends[ACCOUNT][dispatcher.region]
            table = request.get("TableName", "")
            before = meter._stored(backend, table, request, operation)
            status, answer = original(dispatcher, operation, body)
            if status == 200:
                meter._count(backend, operation, table, request, before, answer)
            return status, answer

        Dispatcher.__call__ = metered  # type: ignore[method-assign, assignment]

    @staticmethod
    def _size(item: Any) -> int:
        """DynamoDB's size of a stored item (moto's own `size()` counts numbers by their digits, binary by
        its base64 and no list or map overhead)."""
        return item_size(item.to_json()["Attributes"]) if item is not None else 0

    def _stored(self, backend: Any, table: str, body: dict[str, Any], action: str) -> int:
        if action not in ("PutItem", "UpdateItem", "DeleteItem"):
            return 0
        try:
            model = backend.get_table(table)
            if action == "PutItem":
                item = body["Item"]
                keys = {model.hash_key_attr: item[model.hash_key_attr]}
                if model.range_key_attr:
                    keys[model.range_key_attr] = item[model.range_key_attr]
            else:
                keys = body["Key"]
            return self._size(backend.get_item(table, keys))
        except Exception:  # a request moto will refuse: its own error answers it
            return 0

    def _count(
        self, backend: Any, action: str, table: str, body: dict[str, Any], before: int, response: bytes
    ) -> None:
        try:
            answer = json.loads(response or b"{}")
        except ValueError:
            answer = {}
        key = f"{action} {table}"
        if action in ("PutItem", "UpdateItem", "DeleteItem"):
            after = self._stored(backend, table, body, action)
            self.record(key, write=max(1, math.ceil(max(before, after) / KB)))
        elif action == "GetItem":
            size = item_size(answer.get("Item", {}))
            units = max(1, math.ceil(size / (4 * KB)))
            self.record(key, read=units if body.get("ConsistentRead") else units / 2)
        elif action == "Query":  # Scan: only the local cloud's own snapshots, no function on these paths
            size = sum(item_size(item) for item in answer.get("Items", []))
            units = max(1, math.ceil(size / (4 * KB)))
            consistent = body.get("ConsistentRead") and not body.get("IndexName")
            self.record(key, read=units if consistent else units / 2)
        elif action == "BatchGetItem":
            for name, items in answer.get("Responses", {}).items():
                consistent = body.get("RequestItems", {}).get(name, {}).get("ConsistentRead")
                units = sum(max(1, math.ceil(item_size(item) / (4 * KB))) for item in items)
                self.record(f"{action} {name}", read=units if consistent else units / 2)
        elif action in ("TransactWriteItems", "BatchWriteItem"):
            self.record(key, write=2.0 if action == "TransactWriteItems" else 1.0)  # rare: admin paths

    def record(self, key: str, *, write: float = 0.0, read: float = 0.0) -> None:
        with self.lock:
            if write:
                self.wru[key] = self.wru.get(key, 0.0) + write
            if read:
                self.rru[key] = self.rru.get(key, 0.0) + read


def item_size(item: dict[str, Any]) -> int:
    from bench.item_size import item_size as size

    return size(item)


def topic_kind(topic: str) -> str:
    """`eu868/gateway/<id>/event/up` -> `gateway event/up`; Basic Ingest topics keep their rule name."""
    parts = topic.split("/")
    if topic.startswith("$aws/rules/"):
        return f"basic ingest {parts[2]}"
    if parts[0] == "application":
        return f"application {'/'.join(parts[4:])}"
    if len(parts) > 2 and parts[1] == "gateway":
        return f"gateway {'/'.join(parts[3:])}"
    if len(parts) > 2 and parts[1] == "bridge":
        return f"bridge {'/'.join(parts[3:])}"
    return "other"


# Who receives what on AWS besides the rules engine (which is no MQTT subscriber): the bridge its gateways'
# commands, one application client (the MQTT integration) its application's events.
SUBSCRIBED = ("gateway command/", "application event/")


class MessageMeter:
    """Every publish on the broker (a cloud-identity session subscribed to all topics and to Basic
    Ingest's), as IoT Core meters them: topic + payload in 5 KB units."""

    def __init__(self, access: Any) -> None:
        from localcloud.mqtt import ServiceSession

        self.lock = threading.Lock()
        self.recording = False
        self.messages: Counter[str] = Counter()
        self.deliveries: Counter[str] = Counter()
        self.basic_ingest: Counter[str] = Counter()
        self.application_up = 0
        self.session = ServiceSession(access, f"loraless-cloud-cost-meter-{os.getpid()}", on_message=self._on)
        self.session.start().subscribe(["#", "$aws/rules/#"])

    def _on(self, topic: str, payload: bytes, _client: str) -> None:
        kind = topic_kind(topic)
        units = max(1, math.ceil((len(topic.encode()) + len(payload)) / (5 * KB)))
        with self.lock:
            if topic.startswith("application/") and topic.endswith("/event/up"):
                self.application_up += 1
            if not self.recording:
                return
            if kind.startswith("basic ingest"):
                self.basic_ingest[kind] += 1
                return
            self.messages[kind] += units
            if kind.startswith(SUBSCRIBED):
                self.deliveries[kind] += units


class LogMeter:
    """Every line the functions print, by function and level (Lambda reads a JSON line's `level`; a line
    without one is INFO), so a template's log levels can be applied when pricing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recording = False
        self.bytes: Counter[str] = Counter()
        self.events: Counter[str] = Counter()

    def sink(self, handler: str) -> Any:
        def write(_name: str, line: str) -> None:
            if not self.recording or not line.strip():
                return
            level = "INFO"
            if line.startswith("{"):
                with contextlib.suppress(ValueError, AttributeError):
                    level = str(json.loads(line).get("level", "INFO")).upper()
            with self.lock:
                self.bytes[f"{handler}|{level}"] += len(line.encode()) + 1
                self.events[f"{handler}|{level}"] += 1

        return write


@dataclass
class Bench:
    """The local cloud with every meter attached, and the radio side (gateways, devices) in this process."""

    template: dict[str, Any]
    configs: dict[str, FunctionConfig]
    cloud: Any
    meter: Any  # bench.local_cloud.Meter: durations, cold starts, CPU, rules
    capacity: CapacityMeter
    messages: MessageMeter
    logs: LogMeter
    kms_log: Path
    udp: tuple[str, int]

    def meters(self, on: bool) -> None:
        for meter in (self.meter, self.capacity, self.messages, self.logs):
            meter.recording = on

    def snapshot(self) -> dict[str, Any]:
        kms = Counter(self.kms_log.read_text().split()) if self.kms_log.exists() else Counter()
        return {"cpu": self.meter.cpu(), "rules": self.meter.rules(), "kms": kms}


def idle(bench: Bench, settle_s: float = 2.0, timeout_s: float = 60.0) -> None:
    """Until no function has run, no rule started and no DynamoDB request came for `settle_s`."""
    deadline = time.monotonic() + timeout_s
    last: tuple[int, int, float] = (-1, -1, -1.0)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        current = (
            sum(len(v) for v in bench.meter.durations.values()) + sum(bench.meter.cold_starts.values()),
            sum(bench.meter.rules().values()),
            sum(bench.capacity.wru.values()) + sum(bench.capacity.rru.values()),
        )
        if current != last:
            last, quiet_since = current, time.monotonic()
        elif time.monotonic() - quiet_since >= settle_s:
            return
        time.sleep(0.2)


def measure(bench: Bench, frames: int, run: Any) -> Counts:
    """Run `run()` (it sends `frames` frames) with the meters on, until the cloud is idle again."""
    before = bench.snapshot()
    durations_before = {h: len(d) for h, d in bench.meter.durations.items()}
    cold_before = Counter(bench.meter.cold_starts)
    bench.meters(True)
    try:
        run()
        idle(bench)
    finally:
        bench.meters(False)
    after = bench.snapshot()
    counts = Counts(frames=frames)
    warm_means: dict[str, float] = {}
    for handler, durations in bench.meter.durations.items():
        new = durations[durations_before.get(handler, 0) :]
        counts.calls[handler] += len(new)
        counts.billed_ms[handler] += sum(math.ceil(d * 1000) for d in new)
        warm_means[handler] = sum(durations) / len(durations) if durations else 0.0
    for handler, cold in (Counter(bench.meter.cold_starts) - cold_before).items():
        counts.calls[handler] += cold  # billed as a warm call here: cold starts are not the steady state
        counts.billed_ms[handler] += cold * math.ceil(warm_means.get(handler, 0.0) * 1000)
    for handler in counts.calls:
        counts.cpu_ms[handler] = 1000 * (after["cpu"].get(handler, 0.0) - before["cpu"].get(handler, 0.0))
    counts.cpu_ms["bridge"] = 1000 * (after["cpu"]["bridge"] - before["cpu"]["bridge"])
    counts.rules = after["rules"] - before["rules"]
    assert bench.cloud.template is not None
    rule_targets = {
        r.name: bench.cloud.template.functions[r.function].handler for r in bench.cloud.template.rules
    }
    for rule, n in counts.rules.items():
        if rule in rule_targets:
            counts.traced_entries[rule_targets[rule]] += n
    counts.kms = after["kms"] - before["kms"]
    with bench.capacity.lock:
        counts.wru, counts.rru = dict(bench.capacity.wru), dict(bench.capacity.rru)
        bench.capacity.wru.clear()
        bench.capacity.rru.clear()
    with bench.messages.lock:
        counts.messages, counts.deliveries = (
            Counter(bench.messages.messages),
            Counter(bench.messages.deliveries),
        )
        kinds = {rule: kind for kind, rule in ingested(bench.template).items()}
        for key, publishes in bench.messages.basic_ingest.items():  # "basic ingest <rule>" -> its kind
            counts.basic_ingest[f"gateway {kinds.get(key.removeprefix('basic ingest '), key)}"] += publishes
        for part in (bench.messages.messages, bench.messages.deliveries, bench.messages.basic_ingest):
            part.clear()
    with bench.logs.lock:
        counts.log_bytes, counts.log_events = Counter(bench.logs.bytes), Counter(bench.logs.events)
        bench.logs.bytes.clear()
        bench.logs.events.clear()
    return counts


def start(context: Mapping[str, object], tmp: Path, devices: int) -> tuple[Bench, Any, Any]:
    from bench.bridge import start_bridge
    from bench.local_cloud import Meter, prewarm, provision
    from functions.simulator import provisioning
    from localcloud.broker import CLOUD_IDENTITY, Mosquitto
    from localcloud.cloud import CloudSettings, LocalCloud
    from localcloud.dynamodb import free_port
    from localcloud.template import synthesize

    # the functions print everything from INFO up; each priced template's levels are applied afterwards
    template = synthesize({**context, "log_level": "INFO"})
    configs = function_configs(template)
    broker = Mosquitto(tmp / "broker", port=free_port()).start()
    cloud = LocalCloud(
        broker, CloudSettings(data_dir=tmp, api_port=free_port(), concurrency=4), template=template
    ).start()
    assert cloud.lambdas is not None and cloud.api is not None
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(KMS_COUNTER)
    kms_log = tmp / "kms.log"
    logs = LogMeter()
    for pool in cloud.lambdas.pools.values():
        pool.environment["PYTHONPATH"] = f"{site}{os.pathsep}{pool.environment['PYTHONPATH']}"
        pool.environment["LORALESS_BENCH_KMS_LOG"] = str(kms_log)
        pool.log_sink = logs.sink(pool.function.handler)
    udp = free_port()
    assert cloud.template is not None  # the bridge publishes as the deployed container would
    os.environ.pop("BRIDGE_BASIC_INGEST", None)
    os.environ.update(cloud.template.bridge_environment)
    bridge = start_bridge(broker, udp, free_port())
    token = provisioning.admin_token(cloud.settings.data_dir)
    for index in range(devices + 1):  # the last one warms the paths up, unmeasured
        provision(cloud.api.url, token, index)
    for gateway_id in GATEWAYS:
        provisioning.register_gateway(cloud.api.url, token, gateway_id)
    meter = Meter(cloud, bridge.pid)
    capacity = CapacityMeter()
    messages = MessageMeter(broker.access_for(CLOUD_IDENTITY))
    prewarm(cloud, 4)
    bench = Bench(template, configs, cloud, meter, capacity, messages, logs, kms_log, ("127.0.0.1", udp))
    return bench, broker, bridge


GATEWAYS = [f"00800000c0{g:06x}" for g in range(3)]


async def scenarios(bench: Bench, devices: int) -> dict[str, Counts]:
    """(d) joins, then (a), (b), (c), each device sending one frame per scenario, 0.4 s apart."""
    from bench.local_cloud import make_device
    from functions.simulator.radio import Air, NoDownlink

    fleet = [make_device(i) for i in range(devices)]
    results: dict[str, Counts] = {}
    loop = asyncio.get_running_loop()
    async with Air(bench.udp, GATEWAYS) as air:
        for forwarder in air.forwarders.values():
            forwarder._tasks[1].cancel()  # its `stat` every 30 s: measured on its own as scenario (e)
        pump_stop = asyncio.Event()

        async def drain() -> None:  # downlinks reach the devices (they accept JoinAccepts)
            while not pump_stop.is_set():
                try:
                    heard = await air.downlink(0.5)
                except NoDownlink:  # nothing this half second
                    continue
                origin = heard.answers
                if origin is None:
                    continue
                device = next(d for d in fleet if str(d.dev_eui) == origin.dev_eui)
                if origin.join and device.session is None:
                    device.accept_join(heard.phy_payload)

        pump = asyncio.create_task(drain())

        def run_in_thread(send: Any) -> Any:
            def run() -> None:
                asyncio.run_coroutine_threadsafe(send(), loop).result()

            return run

        async def joins() -> None:
            for device in fleet:
                air.transmit(device, device.join_request(), gateways=GATEWAYS[:1], join=True)
                await asyncio.sleep(0.4)
            deadline = time.monotonic() + 30
            while any(d.session is None for d in fleet) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)

        def uplinks(heard_by: int, confirmed: bool) -> Any:
            async def send() -> None:
                for device in fleet:
                    if device.session is None:
                        continue
                    frame = device.uplink(1, bytes(12), confirmed=confirmed)
                    air.transmit(
                        device,
                        frame,
                        gateways=GATEWAYS[:heard_by],
                        snr={g: 9.5 - 3 * k for k, g in enumerate(GATEWAYS)},
                    )
                    await asyncio.sleep(0.4)
                await asyncio.sleep(1.0)

            return send

        # one device joins and sends a confirmed uplink first, unmeasured: each function's first real
        # call imports the rest of its code (a cold start's second half, not the steady state)
        spare = make_device(devices)
        air.transmit(spare, spare.join_request(), gateways=GATEWAYS[:1], join=True)
        fleet.append(spare)
        await asyncio.sleep(8)
        if spare.session is not None:
            air.transmit(spare, spare.uplink(1, bytes(12), confirmed=True), gateways=GATEWAYS[:1])
            await asyncio.sleep(5)
        fleet.remove(spare)
        results["d"] = await loop.run_in_executor(None, measure, bench, devices, run_in_thread(joins))
        joined = sum(d.session is not None for d in fleet)
        # unmeasured: the first uplinks after a join carry the network's MAC requests, and every worker a
        # scenario uses (three at once for three gateways) makes its first real call
        for heard_by, confirmed in ((1, False), (3, False), (1, True)):
            warm = uplinks(heard_by, confirmed)
            await loop.run_in_executor(None, measure, bench, joined, run_in_thread(warm))
        for name, heard_by, confirmed in (("a", 1, False), ("b", 3, False), ("c", 1, True)):
            results[name] = await loop.run_in_executor(
                None, measure, bench, joined, run_in_thread(uplinks(heard_by, confirmed))
            )

        async def stats() -> None:
            for forwarder in air.forwarders.values():
                forwarder.stat()
                await asyncio.sleep(0.4)

        results["e"] = await loop.run_in_executor(None, measure, bench, len(GATEWAYS), run_in_thread(stats))
        pump_stop.set()
        await pump
    return results


SCENARIOS = {
    "a": "unconfirmed uplink, 1 gateway",
    "b": "unconfirmed uplink, 3 gateways",
    "c": "confirmed uplink + downlink, 1 gateway",
    "d": "OTAA join (JoinRequest + JoinAccept)",
    "e": "gateway stats report (each gateway every 30 s)",
}
ITEMS = {
    "iot_message": "IoT messages",
    "iot_rule": "IoT rules",
    "iot_action": "IoT actions",
    "lambda_request": "Lambda requests",
    "lambda_gb_s": "Lambda GB-s",
    "dynamodb_wru": "DynamoDB WRU",
    "dynamodb_rru": "DynamoDB RRU",
    "kms_request": "KMS requests",
    "logs_gb": "CloudWatch Logs",
    "xray_trace": "X-Ray traces",
}


def short(handler: str) -> str:
    return handler.removeprefix("functions.").removesuffix(".handler").replace(".handlers.", ".")


# The stack's settings before issue 16 (HA bridge, gateway events on the broker, INFO logs, every function
# actively traced at X-Ray's default rate, 1 GB uplink function, a dashboard): the "before" of the table.
BEFORE = {
    "bridge_layout": "ha", "basic_ingest": "false", "log_level": "INFO", "tracing": "Active",
    "xray_sampling_rate": "0.05", "dashboard": "true",
    "function_memory": "Uplink=1024,TxAck=512,NetworkEvents=512",
}  # fmt: skip


def price(
    results: Mapping[str, Counts], template: Mapping[str, Any], *, frames_per_s: float
) -> dict[str, dict[str, float]]:
    """$ per million frames by item, per scenario, for the stack this template describes."""
    configs, sampling = function_configs(template), sampling_of(template)
    priced: dict[str, dict[str, float]] = {}
    for key, measured in results.items():
        # KMS calls as counted: envelope.py's data keys are shared by devices, so the interval of one
        # device does not decide whether its blob's key is held (the v1 per-blob cache did).
        counts = as_deployed(measured, template)
        usage = usage_per_frame(counts, configs, frames_per_s=frames_per_s, sampling=sampling)
        priced[key] = dollars_per_million(usage)
    return priced


def table(dollars: Mapping[str, Mapping[str, float]], frames_per_month: float, fixed: float) -> None:
    print(f"{'$ per million frames':<26}" + "".join(f"{k:>10}" for k in dollars))
    for item, label in ITEMS.items():
        print(f"{label:<26}" + "".join(f"{d[item]:>10.3f}" for d in dollars.values()))
    print(f"{'total':<26}" + "".join(f"{sum(d.values()):>10.2f}" for d in dollars.values()))
    cells = "".join(
        f"{sum(d.values()) * frames_per_month / 1e6 + fixed:>10.0f}" if k != "e" else f"{'-':>10}"
        for k, d in dollars.items()
    )
    print(f"{'month: fleet, all this kind':<26}{cells}")
    if "e" in dollars:
        per_gateway = sum(dollars["e"].values()) * 2 * 60 * HOURS_PER_MONTH / 1e6
        print(f"gateway stats: ${per_gateway:.3f} per gateway per month (one report every 30 s)")


def report(
    results: Mapping[str, Counts],
    templates: Mapping[str, Mapping[str, Any]],
    *,
    fleet: int,
    every_minutes: float,
) -> None:
    """Per template (the one asked for, then the settings before): the table of $ per million frames per
    scenario, the monthly bill and the fixed cost; then the anchors and each scenario's counts per frame."""
    frames_per_month = fleet * (60 / every_minutes) * HOURS_PER_MONTH
    rate = frames_per_month / (HOURS_PER_MONTH * 3600)
    print(
        f"fleet: {fleet:,} devices, one uplink every {every_minutes:g} min = {frames_per_month / 1e6:.1f} M "
        f"uplinks/month ({rate:.1f}/s); us-east-1 list prices as last known (PRICES in bench/cost.py)"
    )
    for key, label in SCENARIOS.items():
        if key in results:
            print(f"  {key}: {label} ({results[key].frames} frames)")
    for name, template in templates.items():
        fixed = fixed_monthly(template)
        print(f"\n== {name} ==")
        table(price(results, template, frames_per_s=rate), frames_per_month, sum(fixed.values()))
        print(f"fixed at rest: ${sum(fixed.values()):.2f}/month")
        for item, cost in fixed.items():
            print(f"  {item:<44}{cost:>8.2f}")
    lorawan = LORAWAN_MESSAGE.usd * 1e6
    print("\nanchors, $ per million:")
    floor, ingest = shape_floor(basic_ingest=False), shape_floor(basic_ingest=True)
    print(f"  the shape's floor per gateway copy: {floor:.2f} ({ingest:.2f} with Basic Ingest)")
    print(
        f"  AWS IoT Core for LoRaWAN: {lorawan:.2f} per message ({LORAWAN_MESSAGE.source}); "
        f"a confirmed uplink with its downlink is two: {2 * lorawan:.2f}"
    )
    configs = function_configs(next(iter(templates.values())))
    for key, counts in results.items():
        print(f"\n-- {key}: {SCENARIOS[key]}, per frame, as measured --")
        details(counts, configs)


def details(counts: Counts, configs: Mapping[str, FunctionConfig]) -> None:
    n = max(counts.frames, 1)
    for handler, calls in sorted(counts.calls.items()):
        memory = configs[handler].memory_mb if handler in configs else 1024
        per_call = max(calls, 1)
        here, there = counts.billed_ms[handler] / per_call, aws_ms(counts, handler, memory) / per_call
        print(
            f"  Lambda {short(handler):<27}{calls / n:5.2f} calls {here:6.0f} ms here, {there:6.0f} ms at "
            f"{memory} MB; "
            f"CPU {counts.cpu_ms[handler] / per_call:5.1f} ms/call"
        )
    print(f"  CPU bridge {counts.cpu_ms['bridge'] / n:.2f} ms")
    for kind, units in sorted(counts.messages.items()):
        print(f"  IoT message {kind:<30}{units / n:5.2f}  delivered {counts.deliveries[kind] / n:5.2f}")
    for kind, units in sorted(counts.basic_ingest.items()):
        print(f"  Basic Ingest {kind:<29}{units / n:5.2f}  (no message)")
    for rule, triggered in sorted(counts.rules.items()):
        print(f"  rule {rule:<37}{triggered / n:5.2f}")
    for name, write in sorted(counts.wru.items()):
        print(f"  WRU {name:<38}{write / n:5.2f}")
    for name, read in sorted(counts.rru.items()):
        print(f"  RRU {name:<38}{read / n:5.2f}")
    for operation, calls in sorted(counts.kms.items()):
        print(f"  KMS {operation:<38}{calls / n:5.2f}")
    for key, size in sorted(counts.log_bytes.items()):
        handler, _, level = key.partition("|")
        events = counts.log_events[key] / n
        print(f"  log {short(handler) + ' ' + level:<38}{size / n:5.0f} B in {events:.1f} lines")


def parse_context(pairs: list[str]) -> dict[str, object]:
    context: dict[str, object] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        context[name] = value
    return context


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=10, help="devices; each sends one frame per scenario")
    parser.add_argument("--fleet", type=int, default=10_000, help="devices of the monthly bill")
    parser.add_argument("--every-minutes", type=float, default=10, help="each device's uplink interval")
    parser.add_argument("-c", "--context", action="append", default=[], help="cdk context name=value")
    args = parser.parse_args()
    context = parse_context(args.context)
    from localcloud.template import synthesize

    templates = {
        f"cdk.json{' with ' + str(context) if context else ' as shipped'}": synthesize(context),
        f"before issue 16: {BEFORE}": synthesize(BEFORE),
    }
    with tempfile.TemporaryDirectory() as tmp:
        bench, broker, bridge = start(context, Path(tmp), args.devices)
        try:
            results = asyncio.run(scenarios(bench, args.devices))
        finally:
            bench.messages.session.stop()
            bridge.terminate()
            bridge.wait(10)
            bench.cloud.stop()
            broker.stop()
    report(results, templates, fleet=args.fleet, every_minutes=args.every_minutes)


if __name__ == "__main__":
    main()
