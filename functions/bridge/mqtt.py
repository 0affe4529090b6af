"""The bridge's MQTT session with AWS IoT Core (or any MQTT 5 broker): mutual TLS with awsiotsdk,
reconnect with backoff, QoS 1, and a bounded buffer so uplinks survive a broker outage.

Publishes never block the UDP loop: they go to the client while connected and to the buffer while
not; the buffer is flushed in order on reconnection. What overflows it is counted and logged.
Gateway command topics are subscribed per gateway and restored after every reconnection.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from awscrt import mqtt5
from awsiot import mqtt5_client_builder

from functions.bridge.config import BridgeConfig
from functions.bridge.metrics import Metrics

log = logging.getLogger("loraless.bridge.mqtt")

OnCommand = Callable[[str, bytes], None]


class MqttLink:
    def __init__(
        self,
        config: BridgeConfig,
        metrics: Metrics,
        on_message: OnCommand,
        *,
        will: tuple[str, bytes] | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._on_connected_hook = on_connected
        self.metrics = metrics
        self._on_message = on_message
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._buffer: collections.deque[tuple[str, bytes, bool]] = collections.deque()
        self._filters: set[str] = set()
        self._stopped = False
        self._in_flight = 0
        limits = (
            mqtt5.ExtendedValidationAndFlowControlOptions.AWS_IOT_CORE_DEFAULTS
            if config.iot_core_limits
            else mqtt5.ExtendedValidationAndFlowControlOptions.NONE
        )
        self._client = mqtt5_client_builder.mtls_from_path(
            endpoint=config.mqtt_endpoint,
            port=config.mqtt_port,
            cert_filepath=str(config.cert_path),
            pri_key_filepath=str(config.key_path),
            ca_filepath=str(config.ca_path) if config.ca_path else None,
            client_id=config.client_id,
            clean_start=True,
            session_behavior=mqtt5.ClientSessionBehaviorType.CLEAN,
            extended_validation_and_flow_control_options=limits,
            min_reconnect_delay_ms=250,
            max_reconnect_delay_ms=10_000,
            on_publish_received=self._received,
            on_lifecycle_connection_success=self._on_connected,
            on_lifecycle_disconnection=self._on_disconnected,
            on_lifecycle_connection_failure=lambda _e: self.metrics.inc("mqtt_connect_failures"),
            enable_metrics_collection=False,
            # The broker publishes this if the bridge vanishes without a clean disconnect (crash, network
            # loss); the network server then marks this bridge's gateways offline.
            will=mqtt5.PublishPacket(topic=will[0], payload=will[1], qos=mqtt5.QoS.AT_LEAST_ONCE, retain=True)
            if will
            else None,
            will_delay_interval_sec=0,
        )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._client.start()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def stop(self, drain_s: float = 2.0) -> None:
        """Send what is buffered (briefly), then disconnect."""
        deadline = time.monotonic() + drain_s
        while (self._buffer or self._in_flight) and self.connected and time.monotonic() < deadline:
            self._flush()
            time.sleep(0.01)
        self._stopped = True
        self._client.stop()
        if self._buffer:
            log.warning("stopping with %d buffered messages not sent", len(self._buffer))
            self.metrics.inc("mqtt_dropped_at_shutdown", len(self._buffer))

    # -- publishing --------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue for the broker; never blocks, never raises. A gateway event configured for Basic Ingest
        goes to `$aws/rules/<rule>/<topic>` (the rule sees `<topic>`; subscribers do not)."""
        topic = self._ingest_topic(topic)
        if self.connected and not self._buffer:
            self._send(topic, payload, retain)
        else:
            self._enqueue(topic, payload, retain)

    def _ingest_topic(self, topic: str) -> str:
        """`<prefix>/gateway/<id>/event/up` -> `$aws/rules/<rule>/<prefix>/gateway/<id>/event/up`."""
        levels = topic.split("/")
        if len(levels) == 5 and levels[1] == "gateway":
            rule = self.config.basic_ingest.get("/".join(levels[3:]))
            if rule:
                return f"$aws/rules/{rule}/{topic}"
        return topic

    def _enqueue(self, topic: str, payload: bytes, retain: bool, *, front: bool = False) -> None:
        with self._lock:
            if len(self._buffer) >= self.config.buffer_size:
                dropped_topic, _, _ = self._buffer.popleft()
                self.metrics.inc("mqtt_buffer_overflow")
                log.warning(
                    "MQTT buffer full (%d): dropped the oldest message for %s",
                    len(self._buffer),
                    dropped_topic,
                )
            if front:
                self._buffer.appendleft((topic, payload, retain))
            else:
                self._buffer.append((topic, payload, retain))
            self.metrics.inc("mqtt_buffered")

    def _send(self, topic: str, payload: bytes, retain: bool) -> None:
        started = time.perf_counter()
        packet = mqtt5.PublishPacket(topic=topic, payload=payload, qos=mqtt5.QoS.AT_LEAST_ONCE, retain=retain)
        with self._lock:
            self._in_flight += 1
        future: Future[mqtt5.PublishCompletionData] = self._client.publish(packet)

        def done(result: Future[mqtt5.PublishCompletionData]) -> None:
            with self._lock:
                self._in_flight -= 1
            try:
                completion = result.result()
            except Exception as exc:  # the connection dropped before PUBACK: keep the message
                log.info("publish to %s not acknowledged (%s); buffered for retry", topic, exc)
                self._enqueue(topic, payload, retain, front=True)
                return
            puback = completion.puback
            if puback is not None and int(puback.reason_code) >= 0x80:
                self.metrics.inc("mqtt_publish_refused")
                log.error("broker refused publish to %s: %s", topic, puback.reason_code)
                return
            self.metrics.inc("mqtt_published")
            self.metrics.latency(time.perf_counter() - started)

        future.add_done_callback(done)

    def _flush(self) -> None:
        while self.connected:
            with self._lock:
                if not self._buffer:
                    return
                topic, payload, retain = self._buffer.popleft()
            self._send(topic, payload, retain)

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(self, topic_filter: str) -> None:
        with self._lock:
            if topic_filter in self._filters:
                return
            self._filters.add(topic_filter)
        if self.connected:
            self._subscribe([topic_filter])

    def unsubscribe(self, topic_filter: str) -> None:
        with self._lock:
            self._filters.discard(topic_filter)
        if self.connected:
            self._client.unsubscribe(mqtt5.UnsubscribePacket(topic_filters=[topic_filter]))

    def _subscribe(self, filters: list[str]) -> None:
        subscriptions = [mqtt5.Subscription(topic_filter=f, qos=mqtt5.QoS.AT_LEAST_ONCE) for f in filters]
        self._client.subscribe(mqtt5.SubscribePacket(subscriptions=subscriptions))

    # -- lifecycle callbacks (awscrt threads) ------------------------------------------------

    def _on_connected(self, _event: mqtt5.LifecycleConnectSuccessData) -> None:
        log.info(
            "connected to %s:%d as %s",
            self.config.mqtt_endpoint,
            self.config.mqtt_port,
            self.config.client_id,
        )
        self.metrics.inc("mqtt_connections")
        self._connected.set()
        with self._lock:
            filters = sorted(self._filters)
        for start in range(0, len(filters), 8):  # IoT Core allows 8 filters per SUBSCRIBE
            self._subscribe(filters[start : start + 8])
        if self._on_connected_hook is not None:
            self._on_connected_hook()
        self._flush()

    def _on_disconnected(self, event: mqtt5.LifecycleDisconnectData) -> None:
        self._connected.clear()
        if not self._stopped:
            self.metrics.inc("mqtt_disconnections")
            log.warning("disconnected from the broker: %s", event.exception)

    def _received(self, data: mqtt5.PublishReceivedData) -> None:
        packet = data.publish_packet
        try:
            self._on_message(packet.topic, bytes(packet.payload or b""))
        except Exception:  # a bad command must not stop the client's event loop
            log.exception("command on %s could not be handled", packet.topic)
            self.metrics.inc("command_errors")
