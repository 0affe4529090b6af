"""What a gateway did with a downlink (gw.DownlinkTxAck). The bridge already tried RX2 after an RX1
error, so anything but OK on the last item tried is a lost downlink. The application hears of it as a
`txack` event for the device the downlink was for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.shared.interface import NetworkEvent
from functions.shared.models import PendingDownlink

log = logging.getLogger("loraless.network.txack")


def handle_tx_ack(
    event: dict[str, Any], count: Callable[[str], None], send_event: Callable[[NetworkEvent], None]
) -> dict[str, Any]:
    items = [i.get("status", "OK") for i in event.get("items", []) if isinstance(i, dict)]
    tried = [s for s in items if s != "IGNORED"]
    final = tried[-1] if tried else "UNKNOWN"
    count("TxErrors" if final != "OK" else f"DownlinksRX{len(tried)}")
    downlink_id = event.get("downlinkId")
    if not isinstance(downlink_id, int):
        return {"status": final, "window": len(tried)}
    try:
        pending = PendingDownlink.get(downlink_id)
    except PendingDownlink.DoesNotExist:
        log.info("TX ack for an unknown or expired downlink %s", downlink_id)
        return {"status": final, "window": len(tried)}
    pending.delete()
    if final != "OK":
        log.warning("downlink %s for %s not sent: %s", downlink_id, pending.dev_eui, items)
    details = {
        "downlinkId": downlink_id,
        "gatewayId": event.get("gatewayId"),
        "status": final,
        "fCntDown": pending.f_cnt,
        "window": f"RX{len(tried)}" if final == "OK" else None,
    }
    send_event(
        NetworkEvent(
            "txack",
            pending.dev_eui,
            datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            details={k: v for k, v in details.items() if v is not None},
        )
    )
    return {"status": final, "window": len(tried), "dev_eui": pending.dev_eui}
