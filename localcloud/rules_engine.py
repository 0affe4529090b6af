"""IoT Core's rules engine, locally: every topic rule of the template, subscribed on the broker, its
SQL applied to each message, and the resulting event handed to the rule's function asynchronously
(as IoT invokes Lambda). A message that is not JSON, or that the SQL drops, starts nothing.
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

Invoke = Callable[[str, dict[str, Any]], Any]


class RulesEngine:
    """Matches messages to rules; `invoke` is LambdaService.invoke_async in the local cloud."""

    def __init__(self, rules: Iterable[RuleDef], invoke: Invoke) -> None:
        self.rules: list[tuple[RuleDef, Rule]] = [(r, parse_rule(r.sql)) for r in rules]
        self._invoke = invoke
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    @property
    def topic_filters(self) -> list[str]:
        """What to subscribe to, each filter once."""
        return list(dict.fromkeys(rule.topic_filter for _, rule in self.rules))

    def on_message(self, topic: str, payload: bytes, client_id: str = "") -> int:
        """Run every matching rule for one message; returns how many functions were started."""
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        started = 0
        for definition, rule in self.rules:
            if document is None:
                if rule.select_all and topic_matches(rule.topic_filter, topic):
                    self._count("not_json")
                    log.warning("rule %s: payload on %s is not JSON; not invoked", definition.name, topic)
                continue
            event = rule.apply(Message(topic=topic, payload=document, client_id=client_id))
            if event is None:
                continue
            try:
                self._invoke(definition.function, event)
            except Exception:  # the rule's error action: on AWS it goes to the DLQ, here to the log
                self._count("error_action")
                log.exception("rule %s could not invoke %s", definition.name, definition.function)
                continue
            self._count(definition.name)
            started += 1
        return started

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1
