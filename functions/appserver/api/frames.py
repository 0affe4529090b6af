"""LoRaWAN frames of a device or gateway (ChirpStack's "LoRaWAN frames" tab), newest first, each decoded
by the protocol core exactly as `loraless frame decode` shows it. Reading a subject's frames is what
watching it means: the network server logs its frames for the next minute (functions/shared/frame_log.py),
so a client keeps polling with `since=<newest id>` to stream them (a gateway's within half a minute of the
first read: its flag is read with its registration)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.appserver.api.common import page
from functions.appserver.api.devices import DevEui, device
from functions.appserver.api.gateways import Gateway, GatewayId, gateway
from functions.appserver.api.watching import watch_device
from functions.lorawan.frame_view import FrameKeys, safe_frame_view
from functions.shared import frame_log
from functions.shared.frame_log import device_subject, frame_time, gateway_subject
from functions.shared.frame_tables import FrameLogItem

router = APIGatewayRouter()


def frame_out(item: FrameLogItem, *, lorawan: str) -> dict[str, Any]:
    """A logged frame as the API shows it: what the network recorded, and the decoded PHYPayload."""
    body = dict(item.body or {})
    out: dict[str, Any] = {"id": item.frame_id, "time": frame_time(item.frame_id), "kind": item.kind} | body
    phy = body.get("phy_payload")
    if isinstance(phy, str):
        mac = body.get("mac_commands")
        keys = FrameKeys(lorawan=lorawan, mac_commands=bytes.fromhex(mac) if isinstance(mac, str) else None)
        out["decoded"] = safe_frame_view(bytes.fromhex(phy), keys)
    return out


def _frames(subject: str, *, lorawan: str) -> dict[str, Any]:
    query = router.current_event.get_query_string_value
    since = query("since")
    condition = FrameLogItem.frame_id > since if since else None

    def render(item: FrameLogItem) -> dict[str, Any]:
        return frame_out(item, lorawan=lorawan)

    return page(
        lambda **kw: FrameLogItem.query(subject, condition, scan_index_forward=False, **kw),
        render,
        limit=query("limit"),
        cursor=query("cursor"),
    )


@router.get("/devices/<dev_eui>/frames")
def device_frames(dev_eui: DevEui) -> dict[str, Any]:
    """The device's uplinks, downlinks, TX acknowledgements and rejected frames (a replay)."""
    item = device(dev_eui, write=False)
    lorawan = "1.1" if item.mac_version.startswith("1.1") else "1.0"
    watch_device(item.dev_eui)
    return _frames(device_subject(item.dev_eui), lorawan=lorawan)


@router.get("/gateways/<gateway_id>/frames")
def gateway_frames(gateway_id: GatewayId) -> dict[str, Any]:
    """What the gateway heard and sent, including frames the network rejected, with the reason. Watching a
    gateway is a flag on its item, which the uplink function reads with its registration (at most
    MEMORY_S old, functions/network/gateway_registry.py): its frames appear within that time."""
    item = gateway(gateway_id, write=False)
    now = time.time()
    if float(item.watch_until or 0) <= now + frame_log.WATCH_S / 2:  # rewritten only when half used
        item.update(actions=[Gateway.watch_until.set(int(now + frame_log.WATCH_S))])
    return _frames(gateway_subject(item.gateway_id), lorawan="1.0")
