"""What the network server's TX ack handler needs of the queue (`functions.shared.interface.QueueRequeue`),
and nothing more (no keys: the payloads stay sealed): an item the gateway sent, or did not send, by its
id; and, for downlinks recorded before they named their item, by the counter it was sent with. An item
put back tells the network its queue is not empty (`queue_notice`)."""

from __future__ import annotations

from functions.appserver.models import DeviceQueueItem
from functions.shared.interface import queue_item_id, queue_notice


def _sent(dev_eui: str, wanted: str) -> DeviceQueueItem | None:
    for item in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if queue_item_id(item.item_id) == wanted and item.f_cnt is not None:
            return item
    return None


def transmitted(dev_eui: str, wanted: str) -> bool:
    """The gateway sent item `wanted`: unconfirmed, it is done (removed); confirmed, it waits for the ACK."""
    item = _sent(dev_eui, wanted)
    if item is None:
        return False
    if not item.confirmed:
        item.delete()
    return True


def not_transmitted(dev_eui: str, wanted: str) -> bool:
    """The gateway did not send item `wanted`: back to not sent, first in line for the next opportunity."""
    item = _sent(dev_eui, wanted)
    if item is None:
        return False
    item.update(actions=[DeviceQueueItem.f_cnt.remove(), DeviceQueueItem.sent_at.remove()])
    queue_notice().queue_filled(dev_eui)  # back in the queue: the next uplink must look
    return True


def requeue(dev_eui: str, f_cnt: int) -> bool:
    """The item sent with `f_cnt` is back to not sent (downlinks recorded before they named their item)."""
    for item in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if item.f_cnt is not None and int(item.f_cnt) == f_cnt:
            item.update(actions=[DeviceQueueItem.f_cnt.remove(), DeviceQueueItem.sent_at.remove()])
            queue_notice().queue_filled(dev_eui)
            return True
    return False
