"""The recent events of a device or gateway, for debugging in the API and the web interface (ChirpStack's
"LoRaWAN frames" and "events" tabs). Ids are time-ordered, so a client polls with `since=<last id>`."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.appserver.models import EventLogItem

KEEP_S = 7 * 86400


def device_subject(dev_eui: str) -> str:
    return f"device#{dev_eui}"


def gateway_subject(gateway_id: str) -> str:
    return f"gateway#{gateway_id}"


MAX_BODY_BYTES = 300_000  # DynamoDB's item limit is 400 KB


def record(subject: str, kind: str, body: dict[str, Any], *, now: float | None = None) -> str:
    """Keep one event; a body too large for an item is kept as a note of its size, never an error."""
    at = time.time() if now is None else now
    size = len(json.dumps(body, separators=(",", ":"), default=str))
    if size > MAX_BODY_BYTES:
        body = {"omitted": f"the event's body of {size} bytes is too large for the event log"}
    event_id = f"{int(at * 1000):013d}{secrets.token_hex(3)}"
    EventLogItem(subject, event_id, type=kind, body=body, expires_at=timedelta(seconds=KEEP_S)).save()
    return event_id


def recent(subject: str, *, since: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; with `since`, only events after that id."""
    condition = EventLogItem.event_id > since if since else None
    items = EventLogItem.query(subject, condition, scan_index_forward=False, limit=limit)
    return [
        {
            "id": item.event_id,
            "time": datetime.fromtimestamp(int(item.event_id[:13]) / 1000, UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "type": item.type,
            "body": item.body,
        }
        for item in items
    ]
