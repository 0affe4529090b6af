"""Transmissions: what a gateway did with a downlink (gw.DownlinkTxAck). The bridge already tried RX2
after an RX1 error, so anything but OK on the last item tried is a lost downlink. The application hears
of it as a `txack` event for the device the downlink was for.

A lost confirmed downlink goes back to the queue as not sent (its FCntDown forgotten), so the next uplink
sends it again as a first transmission rather than a retry. A gateway that answered TOO_LATE is
remembered (`Gateway.stats`), and the next downlinks prefer another gateway that heard the device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.network.models import Gateway, PendingDownlink
from functions.network.observability import logger
from functions.network.scheduling import TOO_LATE_KEY
from functions.shared.interface import NetworkEvent, application_server


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
    count("TxErrors" if final != "OK" else f"DownlinksRX{len(tried)}")
    gateway_id = event.get("gatewayId")
    if "TOO_LATE" in tried and isinstance(gateway_id, str) and gateway_id:
        _remember_too_late(gateway_id)
    downlink_id = event.get("downlinkId")
    if not isinstance(downlink_id, int):
        return {"status": final, "window": len(tried)}
    try:
        pending = PendingDownlink.get(downlink_id)
    except PendingDownlink.DoesNotExist:
        logger.info("TX ack for an unknown or expired downlink")
        return {"status": final, "window": len(tried)}
    logger.append_keys(dev_eui=pending.dev_eui)
    pending.delete()
    requeued = False
    if final != "OK":
        if pending.kind in ("application", "class_c") and pending.f_cnt is not None:
            requeued = application_server().requeue(pending.dev_eui, int(pending.f_cnt))
        logger.warning("downlink not sent", extra={"statuses": items, "requeued": requeued})
    details = {
        "downlinkId": downlink_id,
        "gatewayId": gateway_id,
        "status": final,
        "fCntDown": pending.f_cnt,
        "window": f"RX{len(tried)}" if final == "OK" else None,
        "error": final if final != "OK" else None,
        "requeued": requeued or None,
    }
    send_event(
        NetworkEvent(
            "txack",
            pending.dev_eui,
            datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            details={k: v for k, v in details.items() if v is not None},
        )
    )
    return {"status": final, "window": len(tried), "dev_eui": pending.dev_eui, "requeued": requeued}
