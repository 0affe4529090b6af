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
from tests.support.chirpstack import NotChirpStack, check_topic


def start_broker(directory: Path, *, persistence: bool = False) -> Mosquitto:
    return Mosquitto(directory, port=free_port(), persistence=persistence).start()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    mosquitto = start_broker(tmp_path_factory.mktemp("mosquitto"))
    yield mosquitto
    mosquitto.stop()


class Inbox:
    """Messages received on some topic filters, with waits that fail loudly on timeout. Every message on
    a ChirpStack topic (application events and commands, gateway events, commands and states) goes through
    the strict checker (`tests/support/chirpstack.py`): a violation fails the next wait and `close`."""

    def __init__(
        self, broker: Mosquitto, *filters: str, identity: str = CLOUD_IDENTITY, persistent: bool = False
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.violations: list[str] = []
        self.checked = 0
        self._malformed_on_purpose: set[tuple[str, bytes]] = set()
        self._changed = threading.Condition()
        client_id = (
            f"{CLOUD_CLIENT_PREFIX}-inbox-{time.monotonic_ns()}" if identity == CLOUD_IDENTITY else identity
        )
        self.session = ServiceSession(
            broker.access_for(identity), client_id, on_message=self._on_message, persistent=persistent
        ).start()
        self.session.subscribe(filters)

    def _on_message(self, topic: str, payload: bytes, _client: str) -> None:
        if (topic, payload) in self._malformed_on_purpose:  # a test's own bad input, not ours
            with self._changed:
                self.messages.append((topic, payload))
                self._changed.notify_all()
            return
        try:
            checked = check_topic(topic, payload) is not None
            violation = None
        except NotChirpStack as exc:
            checked, violation = True, f"{topic}: {exc}"
        with self._changed:
            self.checked += checked
            if violation is not None:
                self.violations.append(violation)
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
                self.assert_chirpstack()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [t for t, _ in self.messages]
                    raise AssertionError(f"{count} messages on {topic_filter} expected; got topics {got}")
                self._changed.wait(remaining)
            self.assert_chirpstack()
            return [json.loads(p) for _, p in self.matching_unlocked(topic_filter)[:count]]

    def assert_chirpstack(self) -> None:
        """Fails with every message so far that a ChirpStack v4 peer would refuse."""
        assert not self.violations, "not ChirpStack v4:\n" + "\n".join(self.violations)

    def matching_unlocked(self, topic_filter: str) -> list[tuple[str, bytes]]:
        return [(t, p) for t, p in self.messages if topic_matches(topic_filter, t)]

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        self.session.publish(topic, json.dumps(message).encode())

    def publish_malformed(self, topic: str, message: dict[str, Any]) -> None:
        """Publish bad input on purpose: the strict checker does not count it against the stack."""
        payload = json.dumps(message).encode()
        with self._changed:
            self._malformed_on_purpose.add((topic, payload))
        self.session.publish(topic, payload)

    def close(self) -> None:
        self.session.stop()
        self.assert_chirpstack()
