"""What the application server offers the network server (`functions.shared.interface.ApplicationServer`):
the downlink queue, what the network needs of a provisioned device, and the event log. The network
server reaches this module only through `functions.shared.interface.application_server()`."""

from __future__ import annotations

from typing import Any

from functions.appserver import queue
from functions.appserver.models import Device
from functions.lorawan.types import AES128Key
from functions.shared import envelope
from functions.shared.interface import QueueHead

mark_sent = queue.mark_sent
remove_from_queue = queue.remove
transmitted = queue.transmitted
not_transmitted = queue.not_transmitted
flush_queue = queue.flush


def queue_head(
    dev_eui: str, *, ack: bool | None, now: float | None = None, answer_after_s: float = 0.0
) -> QueueHead:
    return queue.head(dev_eui, ack=ack, now=now, answer_after_s=answer_after_s)


def _device(dev_eui: str) -> Device | None:
    try:
        return Device.get(dev_eui)
    except Device.DoesNotExist:
        return None


def mac_version(dev_eui: str) -> str | None:
    device = _device(dev_eui)
    return str(device.mac_version) if device is not None else None


def supports_class_c(dev_eui: str) -> bool | None:
    device = _device(dev_eui)
    return bool(device.supports_class_c) if device is not None else None


def mac_settings(dev_eui: str) -> dict[str, Any]:
    device = _device(dev_eui)
    return dict(device.mac_settings or {}) if device is not None else {}


def flush_queue_on_activate(dev_eui: str) -> bool:
    device = _device(dev_eui)  # devices keep a copy of their profile's setting: one read
    return bool(device.flush_queue_on_activate) if device is not None else False


def app_s_key(dev_eui: str) -> AES128Key | None:
    device = _device(dev_eui)
    if device is None or device.app_s_key is None:
        return None
    return AES128Key.parse(envelope.open_sealed(device.app_s_key, context=dev_eui)["app_s_key"])
