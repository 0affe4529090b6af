"""The bridge's own limits, without a network: the per-address flood limit and the bounded MQTT buffer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.bridge import semtech
from functions.bridge.config import BridgeConfig
from functions.bridge.metrics import Metrics
from functions.bridge.mqtt import MqttLink
from functions.bridge.registry import Registry
from functions.bridge.server import Bridge


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.published.append((topic, payload))

    def subscribe(self, topic_filter: str) -> None: ...

    def unsubscribe(self, topic_filter: str) -> None: ...


class Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append((data, addr))


def test_a_flood_from_one_address_is_cut_and_counted_while_others_pass() -> None:
    now = [1000.0]
    metrics = Metrics()
    bridge = Bridge(
        topic_prefix="eu868",
        publisher=Recorder(),
        metrics=metrics,
        registry=Registry(),
        clock=lambda: now[0],
        rate_limit_per_s=100,
    )
    transport = Transport()
    bridge.transport = transport  # type: ignore[assignment]
    pull = semtech.pull_data(2, 1, "0102030405060708")
    for _ in range(500):  # one instant: the burst allowance is twice the rate
        bridge.datagram_received(pull, ("10.0.0.1", 5000))
    bridge.datagram_received(pull, ("10.0.0.2", 5000))
    counters = metrics.snapshot()["counters"]
    assert counters["drop_rate_limited"] == 300
    assert counters["pull_data"] == 201  # 200 from the flooder, 1 from the other address
    now[0] += 1.0  # a second later, 100 more are allowed
    for _ in range(150):
        bridge.datagram_received(pull, ("10.0.0.1", 5000))
    assert metrics.snapshot()["counters"]["drop_rate_limited"] == 350


def test_the_mqtt_buffer_is_bounded_and_overflow_is_counted(tmp_path: Path) -> None:
    from localcloud.certificates import CertificateAuthority

    issued = CertificateAuthority(tmp_path / "ca").issue("loraless-bridge")
    config = BridgeConfig(
        mqtt_endpoint="127.0.0.1",
        mqtt_port=1,
        cert_path=issued.cert_path,
        key_path=issued.key_path,
        buffer_size=10,
    )
    metrics = Metrics()
    link = MqttLink(config, metrics, lambda _t, _p: None)  # never started: the broker is "unreachable"
    for index in range(15):
        link.publish(f"eu868/gateway/01/event/up/{index}", b"{}")
    counters = metrics.snapshot()["counters"]
    assert counters["mqtt_buffered"] == 15 and counters["mqtt_buffer_overflow"] == 5
    assert [topic.rsplit("/", 1)[1] for topic, _, _ in link._buffer] == [str(i) for i in range(5, 15)]


def test_gateway_events_configured_for_basic_ingest_go_to_their_rule(tmp_path: Path) -> None:
    """`BRIDGE_BASIC_INGEST` (infra/bridge.py sets it from the rules' names): those gateway events are
    published on `$aws/rules/<rule>/<topic>`; state messages (retained) and commands are not."""
    from functions.bridge.config import from_environment, parse_basic_ingest
    from localcloud.certificates import CertificateAuthority

    rules = parse_basic_ingest("event/up=Loraless_GatewayUplink,event/ack=Loraless_GatewayTxAck")
    assert rules == {"event/up": "Loraless_GatewayUplink", "event/ack": "Loraless_GatewayTxAck"}
    assert parse_basic_ingest("") == {}
    with pytest.raises(ValueError, match="kind=rule"):
        parse_basic_ingest("event/up")
    issued = CertificateAuthority(tmp_path / "ca").issue("loraless-bridge")
    ingest = "event/up=Loraless_GatewayUplink,event/ack=Loraless_GatewayTxAck"
    arguments = ["--cert", str(issued.cert_path), "--key", str(issued.key_path), "--basic-ingest", ingest]
    config = from_environment(arguments)
    assert config.basic_ingest == rules
    link = MqttLink(config, Metrics(), lambda _t, _p: None)  # never started: everything is buffered
    for topic in ("eu868/gateway/0102030405060708/event/up", "eu868/gateway/0102030405060708/event/ack",
                  "eu868/gateway/0102030405060708/event/stats", "eu868/gateway/0102030405060708/state/conn",
                  "eu868/bridge/loraless-bridge-1/state/conn"):  # fmt: skip
        link.publish(topic, b"{}")
    assert [topic for topic, _, _ in link._buffer] == [
        "$aws/rules/Loraless_GatewayUplink/eu868/gateway/0102030405060708/event/up",
        "$aws/rules/Loraless_GatewayTxAck/eu868/gateway/0102030405060708/event/ack",
        "eu868/gateway/0102030405060708/event/stats",
        "eu868/gateway/0102030405060708/state/conn",
        "eu868/bridge/loraless-bridge-1/state/conn",
    ]
