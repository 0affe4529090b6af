"""Counting the DynamoDB requests the code under test makes through PynamoDB, by (table, operation):
what a lever saves is a request count, asserted exactly (timings belong in bench/)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pynamodb.connection import base as pynamodb_base


class Requests(Counter[tuple[str, str]]):
    """Requests so far, by (table name, operation); `of(table)` by operation for one table."""

    def of(self, table: str) -> Counter[str]:
        return Counter({operation: n for (name, operation), n in self.items() if name == table})


def count_requests(monkeypatch: pytest.MonkeyPatch) -> Requests:
    """From now until the test ends, every request is counted (then sent as usual)."""
    requests = Requests()
    original = pynamodb_base.Connection._make_api_call

    def counting(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        requests[(str(operation_kwargs.get("TableName", "")), operation_name)] += 1
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(pynamodb_base.Connection, "_make_api_call", counting)
    return requests
