"""What every route module shares: the caller, cursor pagination, ids and name filtering."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from functions.appserver.auth import Principal, Resource, authorize

CALLER: ContextVar[Principal] = ContextVar("caller")
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
UUID_PATTERN = r"^[0-9a-f]{32}$"
EUI_PATTERN = r"^[0-9a-fA-F]{16}$"


def caller() -> Principal:
    return CALLER.get()


def iso_time(epoch: float | None) -> str | None:
    """Times in the API are ISO 8601 UTC strings."""
    if not epoch:
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat().replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


def get_or_404[M: Model](model: type[M], *key: Any, what: str) -> M:
    try:
        return model.get(*key)
    except model.DoesNotExist as exc:
        raise NotFoundError(f"no {what} {key[0]}") from exc


def owned[M: Model](model: type[M], key: str, resource: Resource, *, write: bool, what: str) -> M:
    """The item, once the caller may read (or write) `resource` in the organization that owns it. An
    item of another organization, or of none, is reported as not found: ids of other tenants cannot be
    probed."""
    try:
        item = model.get(key)
    except model.DoesNotExist as exc:
        raise NotFoundError(f"no {what} {key}") from exc
    org_id = getattr(item, "org_id", None)
    try:
        if not org_id:
            raise NotFoundError("no owner")
        authorize(caller(), org_id, resource, write=write)
    except NotFoundError as exc:
        raise NotFoundError(f"no {what} {key}") from exc
    return item


def limit_of(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise BadRequestError("limit must be a number") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequestError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError("invalid cursor") from exc
    if not isinstance(value, dict):
        raise BadRequestError("invalid cursor")
    return value


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def search_condition(model: type[Model], search: str | None) -> Condition | None:
    if not search:
        return None
    name_lower: UnicodeAttribute = getattr(model, "name_lower")  # noqa: B009
    return name_lower.contains(search.strip().lower())


def page[M: Model](
    fetch: Callable[..., Any],
    render: Callable[[M], dict[str, Any]] | None = None,
    *,
    limit: str | None,
    cursor: str | None,
    render_all: Callable[[list[M]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One page of `fetch(limit=..., last_evaluated_key=...)` (a PynamoDB query or scan) and the cursor
    of the next. A cursor that does not fit the query is a 400, not a 500. `render_all` renders the page
    at once (to batch the reads it needs)."""
    results = fetch(limit=limit_of(limit), last_evaluated_key=_decode_cursor(cursor))
    try:
        found = list(results)
    except PynamoDBException as exc:
        raise BadRequestError("invalid cursor") from exc
    if render_all is not None:
        items = render_all(found)
    else:
        assert render is not None
        items = [render(item) for item in found]
    return {"items": items, "next_cursor": _encode_cursor(results.last_evaluated_key)}


def listing(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A list that is never paged (it is bounded by construction)."""
    return {"items": list(items), "next_cursor": None}
