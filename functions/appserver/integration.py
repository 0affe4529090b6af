"""Network events to applications: decrypt the application payload with the AppSKey the join server
kept, and publish ChirpStack v4 integration JSON on `application/{id}/device/{dev_eui}/event/{type}`."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from functions.lorawan import crypto
from functions.lorawan.types import AES128Key, DevAddr
from functions.shared import envelope
from functions.shared.interface import NetworkEvent
from functions.shared.models import Device

log = logging.getLogger("loraless.appserver")
Publish = Callable[[str, dict[str, Any]], None]


def device_info(device: Device) -> dict[str, Any]:
    return {"applicationId": device.application_id, "devEui": device.dev_eui, "deviceName": device.name}


def handle_network_event(event: NetworkEvent, publish: Publish) -> str | None:
    """Publish one event; returns its topic (None when the device is unknown here)."""
    try:
        device = Device.get(event.dev_eui)
    except Device.DoesNotExist:
        log.warning("event %s for unknown device %s dropped", event.type, event.dev_eui)
        return None
    topic = f"application/{device.application_id}/device/{device.dev_eui}/event/{event.type}"
    message: dict[str, Any] = {"deduplicationId": event.deduplication_id, "time": event.time,
                               "deviceInfo": device_info(device)}  # fmt: skip
    if event.type == "up":
        message |= {"devAddr": event.dev_addr, "adr": event.adr, "dr": event.dr, "fCnt": event.f_cnt,
                    "fPort": event.f_port, "confirmed": event.confirmed, "rxInfo": event.rx_info,
                    "txInfo": event.tx_info}  # fmt: skip
        if (
            event.frm_payload
            and device.app_s_key is not None
            and event.dev_addr is not None
            and event.f_cnt is not None
        ):
            app_s_key = AES128Key.parse(
                envelope.open_sealed(device.app_s_key, context=device.dev_eui)["app_s_key"]
            )
            plain = crypto.decrypt_frm_payload(
                app_s_key,
                crypto.UPLINK,
                DevAddr.parse(event.dev_addr),
                event.f_cnt,
                bytes.fromhex(event.frm_payload),
            )
            message["data"] = base64.b64encode(plain).decode()
    elif event.type == "join":
        message["devAddr"] = event.dev_addr
    elif event.type == "status":
        message |= {"margin": event.details.get("margin"), "batteryLevel": event.details.get("battery")}
    else:
        message |= event.details
    publish(topic, {k: v for k, v in message.items() if v is not None})
    return topic
