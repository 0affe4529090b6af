"""The local cloud's own MQTT session with the broker, in the role IoT Core's rules engine and data
plane play on AWS: it sees every topic and publishes on behalf of the functions.

awsiotsdk's MQTT 5 client with mutual TLS, as everything else in Loraless. The per-connection
throttle that mirrors IoT Core's device limits is lifted: on AWS this traffic is IoT Core's internal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from awscrt import mqtt5
from awsiot import mqtt5_client_builder

log = logging.getLogger("loraless.local.mqtt")

OnMessage = Callable[[str, bytes, str], object]
Acknowledge = Callable[[], None]
OnMessageAcknowledged = Callable[[str, bytes, str, Acknowledge], object]


@dataclass(frozen=True)
class BrokerAccess:
    """Where the broker is and the client certificate the local cloud presents to it."""

    host: str
    port: int
    ca_path: Path
    cert_path: Path
    key_path: Path


class ServiceSession:
    """One MQTT 5 session: subscriptions survive reconnects (the client resubscribes on success)."""

    def __init__(
        self,
        access: BrokerAccess,
        client_id: str,
        on_message: OnMessage | None = None,
        *,
        persistent: bool = False,
        on_message_acknowledged: OnMessageAcknowledged | None = None,
    ) -> None:
        """`persistent` keeps the session (subscriptions and queued QoS 1 messages) across disconnects.
        `on_message_acknowledged` instead of `on_message` is handed a QoS 1 message's acknowledgement to
        call when it has kept the message: the PUBACK waits for it (else it leaves when the handler
        returns)."""
        self._on_message = on_message
        self._on_message_acknowledged = on_message_acknowledged
        self._connected = threading.Event()
        self._filters: list[str] = []
        self._client = mqtt5_client_builder.mtls_from_path(
            endpoint=access.host,
            port=access.port,
            cert_filepath=str(access.cert_path),
            pri_key_filepath=str(access.key_path),
            ca_filepath=str(access.ca_path),
            client_id=client_id,
            session_behavior=mqtt5.ClientSessionBehaviorType.REJOIN_ALWAYS
            if persistent
            else mqtt5.ClientSessionBehaviorType.CLEAN,
            session_expiry_interval_sec=3600 if persistent else 0,
            extended_validation_and_flow_control_options=mqtt5.ExtendedValidationAndFlowControlOptions.NONE,
            offline_queue_behavior=mqtt5.ClientOperationQueueBehaviorType.FAIL_QOS0_PUBLISH_ON_DISCONNECT,
            min_reconnect_delay_ms=200,
            max_reconnect_delay_ms=5000,
            on_publish_received=self._received,
            on_lifecycle_connection_success=self._connected_now,
            on_lifecycle_disconnection=lambda _event: self._connected.clear(),
            enable_metrics_collection=False,
        )

    def _connected_now(self, _event: mqtt5.LifecycleConnectSuccessData) -> None:
        self._connected.set()
        if self._filters:
            self._subscribe(self._filters)

    def _received(self, data: mqtt5.PublishReceivedData) -> None:
        packet = data.publish_packet
        try:
            if self._on_message_acknowledged is not None:
                self._on_message_acknowledged(
                    packet.topic, bytes(packet.payload or b""), "", self._acknowledgement(data)
                )
            elif self._on_message is not None:
                self._on_message(packet.topic, bytes(packet.payload or b""), "")
        except Exception:  # one bad message must not stop the client's event loop
            log.exception("message handler failed for %s", packet.topic)

    def _acknowledgement(self, data: mqtt5.PublishReceivedData) -> Acknowledge:
        """The PUBACK of a QoS 1 message, taken from the client (which would send it when the callback
        returns) to be sent when the handler says; does nothing for QoS 0. If the connection drops
        before, the broker sends the message again on the next one (the session is kept)."""
        acquire = data.acquire_publish_acknowledgement_control
        if acquire is None:
            return lambda: None
        handle = acquire()

        def acknowledge() -> None:
            try:
                self._client.invoke_publish_acknowledgement(handle)
            except Exception as exc:  # a stale handle after a reconnection: the message comes again
                log.warning("PUBACK not sent (%s); the broker will deliver the message again", exc)

        return acknowledge

    def start(self, timeout_s: float = 10.0) -> ServiceSession:
        self._client.start()
        if not self._connected.wait(timeout_s):
            self._client.stop()
            raise ConnectionError("could not connect to the MQTT broker")
        return self

    def _subscribe(self, filters: Iterable[str]) -> Future[mqtt5.SubackPacket]:
        packet = mqtt5.SubscribePacket(
            subscriptions=[mqtt5.Subscription(topic_filter=f, qos=mqtt5.QoS.AT_LEAST_ONCE) for f in filters]
        )
        return self._client.subscribe(packet)  # type: ignore[no-any-return]

    def subscribe(self, filters: Iterable[str], timeout_s: float = 10.0) -> None:
        """Subscribe at QoS 1 and wait for the broker to grant every filter."""
        new = [f for f in filters if f not in self._filters]
        if not new:
            return
        self._filters.extend(new)
        suback = self._subscribe(new).result(timeout_s)
        refused = [f for f, code in zip(new, suback.reason_codes, strict=True) if int(code) >= 0x80]
        if refused:
            raise PermissionError(f"broker refused subscriptions: {refused}")

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, timeout_s: float = 10.0
    ) -> None:
        """Publish and, at QoS 1, wait for the broker's PUBACK; raises if unreachable or not authorized.
        While the session reconnects (a broker restart) it waits up to `timeout_s` for it, as IoT Core's
        data plane, which does not go away, would have taken the message."""
        if not self._connected.wait(timeout_s):
            raise ConnectionError("not connected to the MQTT broker")
        packet = mqtt5.PublishPacket(topic=topic, payload=payload, qos=mqtt5.QoS(qos), retain=retain)
        completion = self._client.publish(packet).result(timeout_s)
        puback = getattr(completion, "puback", None)
        if puback is not None and int(puback.reason_code) >= 0x80:
            raise PermissionError(f"broker refused publish to {topic}: {puback.reason_code!r}")

    def stop(self, timeout_s: float = 2.0) -> None:
        """Acknowledgements already handed to the client go out first: the broker takes one connection's
        packets in order, so the answer to a later UNSUBSCRIBE means it took them (else a message this
        process kept would be delivered again to the next session). Not connected: nothing can go."""
        if self._on_message_acknowledged is not None and self._connected.is_set():
            packet = mqtt5.UnsubscribePacket(topic_filters=["$loraless/acknowledgements-sent"])
            try:
                self._client.unsubscribe(packet).result(timeout_s)
            except Exception as exc:  # the connection went meanwhile: the broker sends those again
                log.warning("acknowledgements not confirmed before stopping (%s)", exc)
        self._client.stop()
