"""IoT Core's rules engine, locally: every topic rule of the template, subscribed on the broker, its
SQL applied to each message, and the resulting event handed to the rule's function asynchronously
(as IoT invokes Lambda). A message that is not JSON, or that the SQL drops, starts nothing.

Basic Ingest: a message on `$aws/rules/<rule name>/<topic>` starts that rule only, which sees `<topic>`
(its `topic(n)` counts from there), as IoT Core does ("Reducing messaging costs with Basic Ingest");
locally such messages still cross Mosquitto, where no client but the rules engine may read them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from localcloud.iot_sql import Message, Rule, parse_rule, topic_matches
from localcloud.template import RuleDef

log = logging.getLogger("loraless.local.rules")
BASIC_INGEST = "$aws/rules/"

Acknowledge = Callable[[], None]
Invoke = Callable[[str, dict[str, Any], Acknowledge | None], Any]


class RulesEngine:
    """Matches messages to rules; `invoke` is LambdaService.invoke_async in the local cloud: it calls its
    third argument once the invocation is accepted (journaled), and the message is acknowledged to the
    broker only when every invocation it started is, as IoT Core keeps a message a rule took."""

    def __init__(self, rules: Iterable[RuleDef], invoke: Invoke) -> None:
        self.rules: list[tuple[RuleDef, Rule]] = [(r, parse_rule(r.sql)) for r in rules]
        self._invoke = invoke
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    @property
    def topic_filters(self) -> list[str]:
        """What to subscribe to, each filter once (`#` does not match `$` topics: Basic Ingest's own)."""
        filters = [rule.topic_filter for _, rule in self.rules]
        return list(dict.fromkeys(filters + ([f"{BASIC_INGEST}#"] if self.rules else [])))

    def on_message(
        self, topic: str, payload: bytes, client_id: str = "", acknowledge: Acknowledge | None = None
    ) -> int:
        """Run every matching rule for one message; returns how many functions were started.
        `acknowledge` (the PUBACK) is called once each of them is accepted, at once if none is."""
        pending = _Countdown(acknowledge)
        try:
            started = self._run_rules(topic, payload, client_id, pending)
        finally:
            pending.release()  # the message itself: what it started still holds the acknowledgement
        return started

    def _run_rules(self, topic: str, payload: bytes, client_id: str, pending: _Countdown) -> int:
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        rules = self.rules
        if topic.startswith(BASIC_INGEST):
            rule_name, _, topic = topic.removeprefix(BASIC_INGEST).partition("/")
            rules = [(d, r) for d, r in self.rules if (d.rule_name or d.name) == rule_name]
            if not rules:
                self._count("basic_ingest_unknown_rule")
                log.warning("no rule named %s for a Basic Ingest message; dropped", rule_name)
                return 0
        started = 0
        for definition, rule in rules:
            if document is None:
                if rule.select_all and topic_matches(rule.topic_filter, topic):
                    self._count("not_json")
                    log.warning("rule %s: payload on %s is not JSON; not invoked", definition.name, topic)
                continue
            event = rule.apply(Message(topic=topic, payload=document, client_id=client_id))
            if event is None:
                continue
            pending.hold()
            try:
                self._invoke(definition.function, event, pending.release)
            except Exception:  # the rule's error action: on AWS it goes to the DLQ, here to the log
                pending.release()
                self._count("error_action")
                log.exception("rule %s could not invoke %s", definition.name, definition.function)
                continue
            self._count(definition.name)
            started += 1
        return started

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1


class _Countdown:
    """Calls `acknowledge` once every holder released it; the message itself is the first holder."""

    def __init__(self, acknowledge: Acknowledge | None) -> None:
        self._acknowledge = acknowledge
        self._holders = 1
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last and self._acknowledge is not None:
            self._acknowledge()
