"""What resolving a device's queue tells the application (ChirpStack v4's events): the confirmed downlink
the device acknowledged (`ack`, true) or never acknowledged (`ack`, false), items that expired unsent
(`log` EXPIRED). Every one carries the queue item id the application gave."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from functions.shared.interface import NetworkEvent, QueuedDownlink, QueueHead

SendEvent = Callable[[NetworkEvent], None]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ack(dev_eui: str, item: QueuedDownlink, acknowledged: bool, dedup_id: str | None) -> NetworkEvent:
    details = {"acknowledged": acknowledged, "fCntDown": item.f_cnt, "queueItemId": item.queue_item_id}
    return NetworkEvent("ack", dev_eui, _now_iso(), deduplication_id=dedup_id, details=details)


def report_queue(
    head: QueueHead, dev_eui: str, send_event: SendEvent, count: Callable[[str], None], *,
    deduplication_id: str | None = None,
) -> None:  # fmt: skip
    if head.acknowledged is not None:
        send_event(_ack(dev_eui, head.acknowledged, True, deduplication_id))
    for item in head.unacknowledged:
        count("DownlinksUnacknowledged")
        send_event(_ack(dev_eui, item, False, deduplication_id))
    for item in head.expired:
        count("DownlinksExpired")
        details = {"level": "WARNING", "code": "EXPIRED", "context": {"queue_item_id": item.queue_item_id},
                   "description": "the downlink expired before the device could receive it"}  # fmt: skip
        send_event(NetworkEvent("log", dev_eui, _now_iso(), details=details))
