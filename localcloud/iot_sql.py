"""The subset of AWS IoT SQL (version 2016-03-23) that Loraless's topic rules use, evaluated locally.

Supported: `SELECT` of `*`, JSON paths (`a.b.c`), literals and the functions `topic(n)`, `topic()`,
`timestamp()`, `clientid()`, each optionally `AS name`; `FROM '<topic filter>'` with `+` and `#`;
`WHERE` with `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`, `AND`, `OR`, `NOT`, parentheses, `IS [NOT] NULL`.
Anything else is rejected when the rule is loaded, so the local cloud never silently differs from AWS.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|[=<>(),*])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AS", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE"}
_MISSING = object()


class IotSqlError(ValueError):
    """A rule statement outside the supported subset, or malformed."""


@dataclass(frozen=True)
class Message:
    """What a rule sees: the topic, the decoded JSON payload, and the publishing client."""

    topic: str
    payload: Any
    client_id: str = ""
    timestamp_ms: int | None = None


Expr = Callable[[Message], Any]


def _tokens(sql: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    sql = sql.strip()
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if match is None or match.end() == pos:
            raise IotSqlError(f"unexpected text at {pos}: {sql[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "word" and text.upper() in _KEYWORDS:
            kind, text = "keyword", text.upper()
        out.append((kind, text))
        pos = match.end()
        while pos < len(sql) and sql[pos].isspace():
            pos += 1
    return out


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching: `+` is one level, a final `#` any number of levels (including none)."""
    parts, levels = topic_filter.split("/"), topic.split("/")
    for index, part in enumerate(parts):
        if part == "#":
            return index == len(parts) - 1
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(parts) == len(levels)


def _path(payload: Any, path: str) -> Any:
    value = payload
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = _tokens(sql)
        self.pos = 0

    def peek(self, text: str | None = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        return text is None or self.tokens[self.pos][1] == text

    def take(self, text: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise IotSqlError(f"statement ends early, expected {text or 'more'}")
        token = self.tokens[self.pos]
        if text is not None and token[1] != text:
            raise IotSqlError(f"expected {text}, got {token[1]!r}")
        self.pos += 1
        return token

    def term(self) -> tuple[Expr, str | None]:
        """A value and its default output name (the last path segment, as IoT names `a.b` -> `b`)."""
        kind, text = self.take()
        if kind == "string":
            value = text[1:-1].replace("''", "'")
            return (lambda _m: value), None
        if kind == "number":
            number = float(text) if "." in text else int(text)
            return (lambda _m: number), None
        if kind == "keyword" and text in ("TRUE", "FALSE", "NULL"):
            constant = {"TRUE": True, "FALSE": False, "NULL": None}[text]
            return (lambda _m: constant), None
        if kind == "op" and text == "(":
            inner = self.condition()
            self.take(")")
            return inner, None
        if kind == "word" and self.peek("("):
            return self.function(text.lower()), None
        if kind == "word":
            return (lambda m: _path(m.payload, text)), text.rsplit(".", 1)[-1]
        raise IotSqlError(f"unexpected {text!r}")

    def function(self, name: str) -> Expr:
        self.take("(")
        args: list[Expr] = []
        while not self.peek(")"):
            args.append(self.term()[0])
            if self.peek(","):
                self.take(",")
        self.take(")")
        if name == "topic" and not args:
            return lambda m: m.topic
        if name == "topic" and len(args) == 1:
            index = args[0]

            def nth_level(m: Message) -> Any:
                levels, n = m.topic.split("/"), index(m)
                return levels[n - 1] if isinstance(n, int) and 1 <= n <= len(levels) else _MISSING

            return nth_level
        if name == "timestamp" and not args:
            return lambda m: m.timestamp_ms if m.timestamp_ms is not None else int(time.time() * 1000)
        if name == "clientid" and not args:
            return lambda m: m.client_id
        raise IotSqlError(f"function {name}() with {len(args)} arguments is not supported locally")

    def comparison(self) -> Expr:
        if self.peek("NOT"):
            self.take("NOT")
            inner = self.comparison()
            return lambda m: not _truthy(inner(m))
        left, _ = self.term()
        if self.peek("IS"):
            self.take("IS")
            negate = self.peek("NOT")
            if negate:
                self.take("NOT")
            self.take("NULL")
            return lambda m: (left(m) in (None, _MISSING)) != negate
        if self.pos < len(self.tokens) and self.tokens[self.pos][1] in _COMPARE:
            op = _COMPARE[self.take()[1]]
            right, _ = self.term()
            return lambda m: _compare(op, left(m), right(m))
        return left

    def conjunction(self) -> Expr:
        parts = [self.comparison()]
        while self.peek("AND"):
            self.take("AND")
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else (lambda m: all(_truthy(p(m)) for p in parts))

    def condition(self) -> Expr:
        parts = [self.conjunction()]
        while self.peek("OR"):
            self.take("OR")
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda m: any(_truthy(p(m)) for p in parts))


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(op: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    """IoT SQL yields Undefined (false) when either side is missing or the types do not compare."""
    if left is _MISSING or right is _MISSING:
        return False
    try:
        return bool(op(left, right))
    except TypeError:
        return False


def _truthy(value: Any) -> bool:
    return value is not _MISSING and bool(value)


@dataclass(frozen=True)
class Rule:
    """A parsed rule statement: `topic_filter` to subscribe to, `apply` to build the action's event."""

    sql: str
    topic_filter: str
    select_all: bool
    fields: tuple[tuple[str, Expr], ...]
    where: Expr | None

    def apply(self, message: Message) -> dict[str, Any] | None:
        """The event the action receives, or None when the topic or WHERE clause does not match."""
        if not topic_matches(self.topic_filter, message.topic):
            return None
        if self.where is not None and not _truthy(self.where(message)):
            return None
        event: dict[str, Any] = {}
        if self.select_all:
            if not isinstance(message.payload, dict):
                return None  # a rule selecting fields of a non-JSON payload does not fire on AWS either
            event.update(message.payload)
        for name, expr in self.fields:
            value = expr(message)
            if value is not _MISSING:
                event[name] = value
        return event


def parse_rule(sql: str) -> Rule:
    """Parse one rule statement; raises IotSqlError on anything outside the supported subset."""
    parser = _Parser(sql)
    parser.take("SELECT")
    select_all = False
    fields: list[tuple[str, Expr]] = []
    while True:
        if parser.peek("*"):
            parser.take("*")
            select_all = True
        else:
            expr, default_name = parser.term()
            name = default_name
            if parser.peek("AS"):
                parser.take("AS")
                name = parser.take()[1]
            if name is None:
                raise IotSqlError("a computed SELECT field needs AS <name>")
            fields.append((name, expr))
        if not parser.peek(","):
            break
        parser.take(",")
    parser.take("FROM")
    kind, text = parser.take()
    if kind != "string":
        raise IotSqlError("FROM takes a quoted topic filter")
    topic_filter = text[1:-1]
    where = None
    if parser.peek("WHERE"):
        parser.take("WHERE")
        where = parser.condition()
    if parser.pos != len(parser.tokens):
        raise IotSqlError(f"unexpected {parser.tokens[parser.pos][1]!r} after the statement")
    return Rule(sql=sql, topic_filter=topic_filter, select_all=select_all, fields=tuple(fields), where=where)
