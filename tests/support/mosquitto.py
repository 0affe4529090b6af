"""A real Mosquitto with mutual TLS for tests (the local cloud's broker, on a free port), plus an MQTT
inbox to watch topics. Use the `broker` fixture (session-wide) or `Mosquitto` directly for restarts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.broker import CLOUD_CLIENT_PREFIX, CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.iot_sql import topic_matches
from localcloud.mqtt import ServiceSession


def start_broker(directory: Path, *, persistence: bool = False) -> Mosquitto:
    return Mosquitto(directory, port=free_port(), persistence=persistence).start()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    mosquitto = start_broker(tmp_path_factory.mktemp("mosquitto"))
    yield mosquitto
    mosquitto.stop()


class Inbox:
    """Messages received on some topic filters, with waits that fail loudly on timeout."""

    def __init__(
        self, broker: Mosquitto, *filters: str, identity: str = CLOUD_IDENTITY, persistent: bool = False
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        client_id = (
            f"{CLOUD_CLIENT_PREFIX}-inbox-{time.monotonic_ns()}" if identity == CLOUD_IDENTITY else identity
        )
        self.session = ServiceSession(
            broker.access_for(identity), client_id, on_message=self._on_message, persistent=persistent
        ).start()
        self.session.subscribe(filters)

    def _on_message(self, topic: str, payload: bytes, _client: str) -> None:
        with self._changed:
            self.messages.append((topic, payload))
            self._changed.notify_all()

    def matching(self, topic_filter: str) -> list[tuple[str, bytes]]:
        with self._changed:
            return [(t, p) for t, p in self.messages if topic_matches(topic_filter, t)]

    def wait(self, topic_filter: str, count: int = 1, timeout_s: float = 10.0) -> list[Any]:
        """The JSON payloads of the first `count` messages on `topic_filter`."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.matching_unlocked(topic_filter)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [t for t, _ in self.messages]
                    raise AssertionError(f"{count} messages on {topic_filter} expected; got topics {got}")
                self._changed.wait(remaining)
            return [json.loads(p) for _, p in self.matching_unlocked(topic_filter)[:count]]

    def matching_unlocked(self, topic_filter: str) -> list[tuple[str, bytes]]:
        return [(t, p) for t, p in self.messages if topic_matches(topic_filter, t)]

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        self.session.publish(topic, json.dumps(message).encode())

    def close(self) -> None:
        self.session.stop()
