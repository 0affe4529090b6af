"""The device queue (the application server's table): applications enqueue, the network server takes the
head when a device listens, through `functions.shared.interface.ApplicationServer`.

It behaves as ChirpStack v4's: an item is sent once and marked with the FCntDown it went with. A
confirmed item then waits for the device's ACK: the next uplink either acknowledges it (`ack`, true) or
not (`ack` with `acknowledged: false`), and either way the queue moves on; a class C device that does not
answer within CLASS_C_TIMEOUT_S gets the same. An unconfirmed item goes when the gateway confirmed the
transmission (or, without a TX acknowledgement, at the next uplink). A transmission the gateway refused
puts the item back as not sent, for the next opportunity. Expired items are dropped unsent and reported.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, UpdateError

from functions.appserver.models import Device, DeviceQueueItem
from functions.shared import envelope
from functions.shared.interface import QueuedDownlink, QueueHead, queue_item_id, queue_notice
from functions.shared.settings import SETTINGS

MAX_F_PORT = 223  # 224 is the test protocol, 225-255 reserved (1.0.4 §4.3.2)
MAX_PAYLOAD = 242  # the largest FRMPayload of any data rate; the network checks the actual DR at send time
CLASS_C_TIMEOUT_S = float(os.environ.get("CLASS_C_TIMEOUT_S", "5"))  # ChirpStack's device-profile default


class QueueError(ValueError):
    """A downlink that cannot be queued; the message says why."""


class PayloadTooLarge(QueueError):
    """More bytes than any data rate carries (ChirpStack's DOWNLINK_PAYLOAD_SIZE)."""


def _known_id(dev_eui: str, wanted: str) -> bool:
    items = DeviceQueueItem.query(dev_eui, consistent_read=True)
    return any(queue_item_id(i.item_id) == wanted for i in items)


def enqueue(
    dev_eui: str,
    f_port: int,
    payload: bytes,
    *,
    confirmed: bool = False,
    expires_at: datetime | None = None,
    item_id: str | None = None,
) -> str:
    """Queue a downlink; returns its queue item id: `item_id` when the application chose one (a
    DownlinkCommand's `id`, a UUID), else a new UUID. An id already queued for the device is not queued
    again (a command delivered twice). With `expires_at` it is dropped unsent after that time."""
    if item_id is not None:
        try:
            item_id = str(uuid.UUID(item_id))
        except ValueError as exc:
            raise QueueError(f"id must be a UUID, got {item_id!r}") from exc
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise QueueError("expires_at is in the past")
    if not 1 <= f_port <= MAX_F_PORT:
        raise QueueError(f"FPort must be 1..{MAX_F_PORT}, got {f_port}")
    if len(payload) > MAX_PAYLOAD:
        raise PayloadTooLarge(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        device = Device.get(dev_eui)
    except Device.DoesNotExist as exc:
        raise QueueError(f"no device {dev_eui}") from exc
    if item_id is not None and _known_id(dev_eui, item_id):
        queue_notice().queue_filled(dev_eui)  # again: the first delivery may have died before it did
        return item_id
    public_id = item_id or str(uuid.uuid4())
    sealed = envelope.seal({"payload": payload.hex()}, context=dev_eui)
    DeviceQueueItem(
        dev_eui, f"{time.time_ns():020d}-{public_id}", f_port=f_port, payload=sealed, confirmed=confirmed,
        expires_at=expires_at,
    ).save()  # fmt: skip
    queue_notice().queue_filled(dev_eui)  # after the item is written (why: functions/network/queue_state.py)
    if device.supports_class_c and SETTINGS.downlink_function:
        from functions.shared import aws  # class C: ask the network server to send it now

        aws.invoke(SETTINGS.downlink_function, {"dev_eui": dev_eui}, wait=False)
    return public_id


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


def head(
    dev_eui: str, *, ack: bool | None, now: float | None = None, answer_after_s: float = 0.0
) -> QueueHead:
    """Resolve what earlier downlinks left in the queue and return what can go now. `ack` is the ACK bit
    of the uplink that opens this opportunity, None for a class C opportunity without an uplink; a
    confirmed item sent less than `answer_after_s` ago (class A: its RX windows were still to come) is not
    given up by an uplink without the ACK, and nothing else goes meanwhile. Items resolved here are
    removed; the caller reports them (ack, log events)."""
    now = time.time() if now is None else now
    result = QueueHead()
    for i in DeviceQueueItem.query(dev_eui, consistent_read=True):
        item = _queued(dev_eui, i)
        if item.f_cnt is not None:  # sent earlier
            age = now - float(i.sent_at or 0)
            early = item.confirmed and not ack and age < answer_after_s  # its RX windows were still to come
            still_out = age <= CLASS_C_TIMEOUT_S if ack is None else early
            if still_out:
                result.waiting = item
                return result
            # acknowledged or not, or an unconfirmed one whose TX ack never came: done
            if _removed(i) and item.confirmed:
                if ack:
                    result.acknowledged = item
                else:
                    result.unacknowledged.append(item)
            continue
        if i.expires_at is not None and i.expires_at.timestamp() <= now:
            if _removed(i):
                result.expired.append(item)
            continue
        result.items.append(item)
        if len(result.items) == 2:
            break
    return result


def _removed(i: DeviceQueueItem) -> bool:
    """Removes a resolved item; False when another invocation of the device removed it first. Only the
    invocation that removed it reports it (its uplink reports it even after re-running on a lost session
    save, `resolved_before`), so an `ack` or EXPIRED goes once."""
    try:
        i.delete(condition=DeviceQueueItem.item_id.exists())
    except DeleteError as error:
        if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _queued(dev_eui: str, i: DeviceQueueItem) -> QueuedDownlink:
    return QueuedDownlink(
        i.item_id,
        int(i.f_port),
        bytes.fromhex(envelope.open_sealed(i.payload, context=dev_eui)["payload"]),
        bool(i.confirmed),
        int(i.f_cnt) if i.f_cnt is not None else None,
    )


def mark_sent(dev_eui: str, item_id: str, f_cnt: int, *, now: float | None = None) -> bool:
    """Sent with `f_cnt`: it stays queued until the gateway's TX ack (and, confirmed, the device's ACK).
    The mark is the item's claim: it holds only on an item not marked yet, so of two invocations of one
    device that both read the item as the queue head (the second re-runs after a conflicting session
    write, before the first marked it) one sends it; False tells the other not to (or that it is gone)."""
    sent_at = time.time() if now is None else now
    try:
        DeviceQueueItem(dev_eui, item_id).update(
            actions=[DeviceQueueItem.f_cnt.set(f_cnt), DeviceQueueItem.sent_at.set(sent_at)],
            condition=DeviceQueueItem.item_id.exists() & DeviceQueueItem.f_cnt.does_not_exist(),
        )
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False  # flushed, or marked by another invocation: an update must not recreate or re-mark it
    return True


def transmitted(dev_eui: str, wanted: str) -> QueuedDownlink | None:
    """The gateway sent item `wanted`: unconfirmed, it is done (removed); confirmed, it waits for the ACK."""
    for i in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if queue_item_id(i.item_id) == wanted and i.f_cnt is not None:
            item = _queued(dev_eui, i)
            if not item.confirmed:
                i.delete()
            return item
    return None


def not_transmitted(dev_eui: str, wanted: str) -> bool:
    """The gateway did not send item `wanted`: back to not sent, first in line for the next opportunity."""
    for i in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if queue_item_id(i.item_id) == wanted and i.f_cnt is not None:
            i.update(actions=[DeviceQueueItem.f_cnt.remove(), DeviceQueueItem.sent_at.remove()])
            queue_notice().queue_filled(dev_eui)
            return True
    return False


def remove(dev_eui: str, item_id: str) -> None:
    DeviceQueueItem(dev_eui, item_id).delete()


def flush(dev_eui: str) -> int:
    items = list(DeviceQueueItem.query(dev_eui))
    for item in items:
        item.delete()
    return len(items)
