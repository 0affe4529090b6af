"""The device queue (the application server's table): applications enqueue, the network server takes the
head when a device listens, through `functions.shared.interface.ApplicationServer`."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from functions.appserver.models import Device, DeviceQueueItem
from functions.shared import envelope
from functions.shared.interface import QueuedDownlink
from functions.shared.settings import SETTINGS

MAX_F_PORT = 223  # 224 is the test protocol, 225-255 reserved (1.0.4 §4.3.2)
MAX_PAYLOAD = 242  # the largest FRMPayload of any data rate; the network checks the actual DR at send time


class QueueError(ValueError):
    """A downlink that cannot be queued; the message says why."""


def enqueue(
    dev_eui: str, f_port: int, payload: bytes, *, confirmed: bool = False, expires_at: datetime | None = None
) -> str:
    """Queue a downlink; with `expires_at` it is dropped unsent after that time (ChirpStack's expiresAt)."""
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise QueueError("expires_at is in the past")
    if not 1 <= f_port <= MAX_F_PORT:
        raise QueueError(f"FPort must be 1..{MAX_F_PORT}, got {f_port}")
    if len(payload) > MAX_PAYLOAD:
        raise QueueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        device = Device.get(dev_eui)
    except Device.DoesNotExist as exc:
        raise QueueError(f"no device {dev_eui}") from exc
    item_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
    sealed = envelope.seal({"payload": payload.hex()}, context=dev_eui)
    DeviceQueueItem(
        dev_eui, item_id, f_port=f_port, payload=sealed, confirmed=confirmed, expires_at=expires_at
    ).save()
    if device.supports_class_c and SETTINGS.downlink_function:
        from functions.shared import aws  # class C: ask the network server to send it now

        aws.invoke(SETTINGS.downlink_function, {"dev_eui": dev_eui}, wait=False)
    return item_id


def pending(dev_eui: str, limit: int = 2) -> list[QueuedDownlink]:
    """The head of the queue (two items: the second tells whether to set FPending). Expired items are
    removed on the way: DynamoDB's TTL deletes them only eventually."""
    now = datetime.now(UTC)
    found: list[QueuedDownlink] = []
    for i in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if i.expires_at is not None and i.expires_at <= now and i.f_cnt is None:
            i.delete()
            continue
        found.append(
            QueuedDownlink(
                i.item_id,
                int(i.f_port),
                bytes.fromhex(envelope.open_sealed(i.payload, context=dev_eui)["payload"]),
                bool(i.confirmed),
                int(i.f_cnt) if i.f_cnt is not None else None,
            )
        )
        if len(found) == limit:
            break
    return found


def mark_sent(dev_eui: str, item_id: str, f_cnt: int) -> None:
    DeviceQueueItem(dev_eui, item_id).update(actions=[DeviceQueueItem.f_cnt.set(f_cnt)])


def requeue(dev_eui: str, f_cnt: int) -> bool:
    """The confirmed item sent with `f_cnt` is back to not sent (the gateway did not transmit it); True if
    there was one."""
    for item in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if item.f_cnt is not None and int(item.f_cnt) == f_cnt:
            item.update(actions=[DeviceQueueItem.f_cnt.remove()])
            return True
    return False


def remove(dev_eui: str, item_id: str) -> None:
    DeviceQueueItem(dev_eui, item_id).delete()


def flush(dev_eui: str) -> int:
    items = list(DeviceQueueItem.query(dev_eui))
    for item in items:
        item.delete()
    return len(items)
