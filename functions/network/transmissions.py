"""Transmissions: what a gateway did with a downlink (gw.DownlinkTxAck). The bridge already tried RX2
after an RX1 error, so anything but OK on the last item tried is a lost downlink. The application hears
of it as ChirpStack tells it: a `txack` event (with the queue item id) when the gateway sent it, a `log`
event DOWNLINK_GATEWAY when it did not.

A sent unconfirmed item leaves the queue; a sent confirmed one waits for the device's ACK. A lost one
goes back to the queue as not sent (its FCntDown forgotten), so the next opportunity sends it as a first
transmission rather than a retry. A gateway that answered TOO_LATE is remembered (`Gateway.stats`), and
the next downlinks prefer another gateway that heard the device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.network.frame_recording import record_tx_ack
from functions.network.models import Gateway, PendingDownlink
from functions.network.observability import logger
from functions.network.scheduling import TOO_LATE_KEY
from functions.shared.interface import NetworkEvent, queue_requeue


def _remember_too_late(gateway_id: str) -> None:
    try:
        gateway = Gateway.get(gateway_id)
        stats = dict(gateway.stats or {})
    except Gateway.DoesNotExist:
        gateway, stats = Gateway(gateway_id), {}
    stats[TOO_LATE_KEY] = int(time.time())
    gateway.update(actions=[Gateway.stats.set(stats)])


def handle_tx_ack(
    event: dict[str, Any], count: Callable[[str], None], send_event: Callable[[NetworkEvent], None]
) -> dict[str, Any]:
    items = [i.get("status", "OK") for i in event.get("items", []) if isinstance(i, dict)]
    tried = [s for s in items if s != "IGNORED"]
    final = tried[-1] if tried else "UNKNOWN"
    gateway_id = event.get("gatewayId")
    if "TOO_LATE" in tried and isinstance(gateway_id, str) and gateway_id:
        _remember_too_late(gateway_id)
    downlink_id = event.get("downlinkId")
    pending: PendingDownlink | None = None
    if isinstance(downlink_id, int):
        try:
            pending = PendingDownlink.get(downlink_id)
        except PendingDownlink.DoesNotExist:
            logger.info("TX ack for an unknown or expired downlink")
    # A frame sent with its RX2 item alone (RX1 already missed, `send_downlink`) starts at window 2.
    window = len(tried) + (int(pending.first_window) - 1 if pending and pending.first_window else 0)
    count("TxErrors" if final != "OK" else f"DownlinksRX{window}")
    if not isinstance(downlink_id, int):
        return {"status": final, "window": window}
    if pending is None:
        if isinstance(gateway_id, str) and gateway_id:
            record_tx_ack(dev_eui=None, gateway_id=gateway_id, downlink_id=downlink_id, status=final,
                          window=window)  # fmt: skip
        return {"status": final, "window": window}
    record_tx_ack(dev_eui=pending.dev_eui, gateway_id=pending.gateway_id, downlink_id=downlink_id,
                  status=final, window=window)  # fmt: skip
    logger.append_keys(dev_eui=pending.dev_eui)
    pending.delete()
    requeued = False
    application = queue_requeue()
    if final == "OK" and pending.queue_item_id:
        application.transmitted(pending.dev_eui, pending.queue_item_id)
    elif final != "OK":
        if pending.queue_item_id:
            requeued = application.not_transmitted(pending.dev_eui, pending.queue_item_id)
        elif pending.kind in ("application", "class_c") and pending.f_cnt is not None:
            requeued = application.requeue(pending.dev_eui, int(pending.f_cnt))  # recorded before ids
        logger.warning("downlink not sent", extra={"statuses": items, "requeued": requeued})
    details = {
        "downlinkId": downlink_id,
        "gatewayId": gateway_id,
        "status": final,
        "fCntDown": pending.f_cnt,
        "queueItemId": pending.queue_item_id,
    }
    send_event(
        NetworkEvent(
            "txack",
            pending.dev_eui,
            datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            details={k: v for k, v in details.items() if v is not None},
        )
    )
    return {"status": final, "window": window, "dev_eui": pending.dev_eui, "requeued": requeued}
