"""A confirmed downlink the gateway did not transmit goes back to not sent: what the network server's TX
ack handler needs of the queue (`functions.shared.interface.QueueRequeue`), and nothing more (no keys)."""

from __future__ import annotations

from functions.appserver.models import DeviceQueueItem


def requeue(dev_eui: str, f_cnt: int) -> bool:
    """The confirmed item sent with `f_cnt` is back to not sent; True if there was one."""
    for item in DeviceQueueItem.query(dev_eui, consistent_read=True):
        if item.f_cnt is not None and int(item.f_cnt) == f_cnt:
            item.update(actions=[DeviceQueueItem.f_cnt.remove()])
            return True
    return False
