"""Mosquitto as the local IoT Core: mutual TLS, and per-identity topic rules that mirror the IoT policies."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localcloud.broker import BRIDGE_IDENTITY, CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.mqtt import BrokerAccess, ServiceSession
from tests.support.stack import pids

GATEWAY = "0102030405060708"
OTHER_GATEWAY = "1112131415161718"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path_factory.mktemp("broker"), port=free_port()).start()
    yield mosquitto
    mosquitto.stop()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.arrived = threading.Condition()

    def __call__(self, topic: str, payload: bytes, _client: str) -> None:
        with self.arrived:
            self.messages.append((topic, payload))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[tuple[str, bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout_s)
            return list(self.messages)


def _session(broker: Mosquitto, identity: str, inbox: Inbox | None = None) -> ServiceSession:
    client_id = (
        identity if identity not in (CLOUD_IDENTITY, BRIDGE_IDENTITY) else f"{identity}-{time.monotonic_ns()}"
    )
    return ServiceSession(broker.access_for(identity), client_id, on_message=inbox).start()


def test_the_cloud_sees_what_a_gateway_publishes_on_its_own_topics(broker: Mosquitto) -> None:
    inbox = Inbox()
    cloud = _session(broker, CLOUD_IDENTITY, inbox)
    gateway = _session(broker, GATEWAY)
    try:
        cloud.subscribe(["+/gateway/+/event/+"])
        gateway.publish(f"eu868/gateway/{GATEWAY}/event/up", b'{"n": 1}')
        assert inbox.wait_for(1) == [(f"eu868/gateway/{GATEWAY}/event/up", b'{"n": 1}')]
    finally:
        gateway.stop()
        cloud.stop()


def test_a_gateway_cannot_publish_as_another_gateway_nor_read_its_commands(broker: Mosquitto) -> None:
    cloud_inbox, gateway_inbox = Inbox(), Inbox()
    cloud = _session(broker, CLOUD_IDENTITY, cloud_inbox)
    gateway = _session(broker, GATEWAY, gateway_inbox)
    try:
        cloud.subscribe(["#"])
        # Mosquitto 2.0 grants a denied subscription but never delivers on it (IoT Core refuses it).
        gateway.subscribe([f"eu868/gateway/{GATEWAY}/command/+", f"eu868/gateway/{OTHER_GATEWAY}/command/+"])
        # A denied QoS 1 publish is acknowledged with "not authorized" (0x87) and dropped.
        with pytest.raises(PermissionError):
            gateway.publish(f"eu868/gateway/{OTHER_GATEWAY}/event/up", b"forged")
        cloud.publish(f"eu868/gateway/{OTHER_GATEWAY}/command/down", b"not yours")
        cloud.publish(f"eu868/gateway/{GATEWAY}/command/down", b"yours")
        assert gateway_inbox.wait_for(1) == [(f"eu868/gateway/{GATEWAY}/command/down", b"yours")]
        time.sleep(0.2)
        assert [t for t, _ in cloud_inbox.messages if "event/up" in t] == []
    finally:
        gateway.stop()
        cloud.stop()


def test_the_bridge_may_publish_for_any_gateway_but_not_application_topics(broker: Mosquitto) -> None:
    bridge = _session(broker, BRIDGE_IDENTITY)
    try:
        bridge.publish(f"eu868/gateway/{OTHER_GATEWAY}/event/up", b"{}")
        with pytest.raises(PermissionError):
            bridge.publish("application/1/device/01/event/up", b"{}")
    finally:
        bridge.stop()


def test_a_client_without_a_certificate_from_our_authority_is_refused(
    broker: Mosquitto, tmp_path: Path
) -> None:
    from localcloud.certificates import CertificateAuthority

    stranger = CertificateAuthority(tmp_path / "other-ca").issue("stranger")
    access = broker.access_for(GATEWAY)
    forged = BrokerAccess(access.host, access.port, access.ca_path, stranger.cert_path, stranger.key_path)
    with pytest.raises(ConnectionError):
        ServiceSession(forged, "stranger").start(timeout_s=2)


# -- the IoT policies' client-id binding and topics per kind (issue 15) ----------------------------------

APPLICATION = "0123456789abcdef0123456789abcdef"


def _refused(broker: Mosquitto, identity: str, client_id: str) -> bool:
    try:
        ServiceSession(broker.access_for(identity), client_id).start(timeout_s=2).stop()
    except ConnectionError:
        return True
    return False


def test_no_certificate_connects_with_another_identitys_client_id(broker: Mosquitto) -> None:
    """A gateway's certificate taking the cloud's or the bridge's client id disconnected them (and fired
    the bridge's last will); now the broker refuses before it looks for a session to take over."""
    inbox = Inbox()
    cloud = ServiceSession(
        broker.access_for(CLOUD_IDENTITY), "loraless-cloud-rules", on_message=inbox
    ).start()
    bridge_will = Inbox()
    watcher = _session(broker, CLOUD_IDENTITY, bridge_will)
    try:
        cloud.subscribe(["probe/#"])
        watcher.subscribe(["eu868/bridge/+/state/#"])
        for identity, taken in [
            (GATEWAY, "loraless-cloud-rules"),
            (GATEWAY, "loraless-bridge-local"),
            (GATEWAY, OTHER_GATEWAY),
            (APPLICATION, GATEWAY),
            (BRIDGE_IDENTITY, "loraless-cloud-rules"),
            (BRIDGE_IDENTITY, GATEWAY),
            ("someone-else", "someone-else"),  # a certificate of no known kind
        ]:
            assert _refused(broker, identity, taken), (identity, taken)
        cloud.publish("probe/alive", b"1")  # the cloud's session was never taken
        assert inbox.wait_for(1) == [("probe/alive", b"1")]
        assert bridge_will.messages == []
        assert not _refused(broker, GATEWAY, GATEWAY) and not _refused(broker, APPLICATION, APPLICATION)
    finally:
        cloud.stop()
        watcher.stop()


def test_an_application_certificate_cannot_publish_as_a_gateway(broker: Mosquitto) -> None:
    application = _session(broker, APPLICATION)
    try:
        for topic in (f"eu868/gateway/{APPLICATION}/event/up", f"eu868/gateway/{GATEWAY}/event/up"):
            with pytest.raises(PermissionError):
                application.publish(topic, b"{}")
        application.publish(f"application/{APPLICATION}/device/0102030405060708/command/down", b"{}")
    finally:
        application.stop()


def test_a_gateway_publishes_only_under_the_stacks_region_prefixes(broker: Mosquitto) -> None:
    gateway = _session(broker, GATEWAY)
    try:
        gateway.publish(f"eu868/gateway/{GATEWAY}/event/up", b"{}")
        for topic in (f"us915/gateway/{GATEWAY}/event/up", f"x/gateway/{GATEWAY}/state/conn",
                      f"application/{GATEWAY}/device/0102030405060708/command/down"):  # fmt: skip
            with pytest.raises(PermissionError):
                gateway.publish(topic, b"{}")
    finally:
        gateway.stop()


def test_the_bridge_publishes_only_under_the_stacks_region_prefixes_and_its_own_state(
    broker: Mosquitto,
) -> None:
    bridge = ServiceSession(broker.access_for(BRIDGE_IDENTITY), "loraless-bridge-a").start()
    try:
        bridge.publish(f"eu868/gateway/{GATEWAY}/event/up", b"{}")
        bridge.publish("eu868/bridge/loraless-bridge-a/state/conn", b"{}")
        for topic in (f"us915/gateway/{GATEWAY}/event/up", "eu868/bridge/loraless-bridge-b/state/conn"):
            with pytest.raises(PermissionError):
                bridge.publish(topic, b"{}")
    finally:
        bridge.stop()


def test_new_rules_from_a_template_are_enforced_without_a_restart(tmp_path: Path) -> None:
    """The local cloud hands the broker its template's rules (another region prefix here)."""
    from localcloud.policies import default_rules

    mosquitto = Mosquitto(tmp_path / "broker", port=free_port()).start()
    try:
        gateway = _session(mosquitto, GATEWAY)
        with pytest.raises(PermissionError):
            gateway.publish(f"us915/gateway/{GATEWAY}/event/up", b"{}")
        mosquitto.use_rules(default_rules(["us915"]))
        gateway.publish(f"us915/gateway/{GATEWAY}/event/up", b"{}")
        with pytest.raises(PermissionError):
            gateway.publish(f"eu868/gateway/{GATEWAY}/event/up", b"{}")
        gateway.stop()
    finally:
        mosquitto.stop()


def test_basic_ingest_is_open_to_gateway_events_of_the_ingesting_rules_only(broker: Mosquitto) -> None:
    """Basic Ingest topics as the stack's policies allow them (infra/iot.py, infra/bridge.py): the bridge
    for any gateway, a gateway for its own id, each only for the gateway-event rules; nobody but the
    rules engine reads them (IoT Core lets no one subscribe to them)."""
    cloud_inbox, reader_inbox = Inbox(), Inbox()
    cloud = _session(broker, CLOUD_IDENTITY, cloud_inbox)
    bridge = _session(broker, BRIDGE_IDENTITY)
    gateway = _session(broker, GATEWAY, reader_inbox)
    uplink = "$aws/rules/Loraless_GatewayUplink/eu868/gateway/{}/event/up"
    try:
        cloud.subscribe(["$aws/rules/#"])
        gateway.subscribe(["$aws/rules/#"])  # granted by Mosquitto, never delivered (denied on read)
        bridge.publish(uplink.format(OTHER_GATEWAY), b'{"n": 1}')
        gateway.publish(uplink.format(GATEWAY), b'{"n": 2}')
        assert cloud_inbox.wait_for(2) == [
            (uplink.format(OTHER_GATEWAY), b'{"n": 1}'),
            (uplink.format(GATEWAY), b'{"n": 2}'),
        ]
        with pytest.raises(PermissionError):
            gateway.publish(uplink.format(OTHER_GATEWAY), b"forged")
        for topic in (
            f"$aws/rules/Loraless_ApplicationDownlink/eu868/gateway/{OTHER_GATEWAY}/event/up",
            "$aws/rules/Loraless_GatewayUplink/application/1/device/01/event/up",
            f"$aws/rules/Loraless_GatewayUplink/eu868/gateway/{OTHER_GATEWAY}/state/conn",
        ):
            with pytest.raises(PermissionError):
                bridge.publish(topic, b"{}")
        time.sleep(0.2)
        assert reader_inbox.messages == []
    finally:
        gateway.stop()
        bridge.stop()
        cloud.stop()


def test_after_a_kill_9_the_broker_sends_again_what_it_delivered_in_its_last_second(tmp_path: Path) -> None:
    """MQTT QoS 1 is at least once: the broker restores its sessions from a snapshot saved every second,
    so a message it delivered after the last snapshot goes out again, the same bytes (the application
    drops it by its `deduplicationId`). The fault suite counts such copies apart from duplicates because
    of this; if this test fails, the broker became exactly once and they are duplicates again. A kill
    that lands just after a snapshot sends nothing again: up to three rounds, one copy is enough."""
    mosquitto = Mosquitto(tmp_path / "broker", port=free_port(), persistence=True).start()
    topic = "application/1/device/0102030405060708/event/up"
    inbox = Inbox()
    client_id = f"{CLOUD_IDENTITY}-application-{time.monotonic_ns()}"
    access = mosquitto.access_for(CLOUD_IDENTITY)
    publisher = _session(mosquitto, CLOUD_IDENTITY)
    application = ServiceSession(access, client_id, on_message=inbox, persistent=True).start()
    application.subscribe([topic])
    try:
        for round_ in range(3):
            message = json.dumps({"deduplicationId": str(round_)}).encode()
            application.stop()
            publisher.publish(topic, message)
            time.sleep(2.5)  # a snapshot has the message queued for the application's session
            application = ServiceSession(access, client_id, on_message=inbox, persistent=True).start()
            received = len(inbox.wait_for(len(inbox.messages) + 1))
            assert inbox.messages[-1] == (topic, message)
            (broker_pid,) = pids(f"mosquitto -c {tmp_path}")
            os.kill(broker_pid, signal.SIGKILL)  # before the next snapshot, most likely
            mosquitto.start()
            if inbox.wait_for(received + 1, timeout_s=8)[received:] == [(topic, message)]:
                break
        else:
            raise AssertionError(f"no message sent again after three kills: {inbox.messages}")
    finally:
        application.stop()
        publisher.stop()
        mosquitto.stop()


def test_a_message_is_acknowledged_only_when_its_handler_says_it_is_kept(broker: Mosquitto) -> None:
    """The rules engine's PUBACK waits for the invocation journal: a message received but not yet
    acknowledged when the session drops is delivered again on the next connection; one acknowledged
    is not."""
    topic = "application/1/device/0102030405060708/event/up"
    client_id = f"{CLOUD_IDENTITY}-rules-{time.monotonic_ns()}"
    access = broker.access_for(CLOUD_IDENTITY)
    inbox, held = Inbox(), []

    def keep_unacknowledged(topic: str, payload: bytes, client: str, acknowledge: Callable[[], None]) -> None:
        held.append(acknowledge)
        inbox(topic, payload, client)

    def keep_and_acknowledge(
        topic: str, payload: bytes, client: str, acknowledge: Callable[[], None]
    ) -> None:
        inbox(topic, payload, client)
        acknowledge()

    session = ServiceSession(
        access, client_id, on_message_acknowledged=keep_unacknowledged, persistent=True
    ).start()
    session.subscribe([topic])
    publisher = _session(broker, CLOUD_IDENTITY)
    try:
        publisher.publish(topic, b'{"n": 1}')
        assert inbox.wait_for(1) == [(topic, b'{"n": 1}')] and len(held) == 1
        session.stop()  # before the acknowledgement: the broker still holds the message for the session
        session = ServiceSession(
            access, client_id, on_message_acknowledged=keep_and_acknowledge, persistent=True
        ).start()
        assert inbox.wait_for(2)[1:] == [(topic, b'{"n": 1}')]
        session.stop()  # after its acknowledgement reached the broker (ServiceSession.stop)
        session = ServiceSession(
            access, client_id, on_message_acknowledged=keep_and_acknowledge, persistent=True
        ).start()
        publisher.publish(topic, b'{"n": 2}')  # comes after anything the broker would send again
        assert inbox.wait_for(3)[2:] == [(topic, b'{"n": 2}')]
    finally:
        session.stop()
        publisher.stop()
