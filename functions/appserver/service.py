"""What the application server offers the network server (`functions.shared.interface.ApplicationServer`):
the downlink queue, what the network needs of a provisioned device, and the event log. The network
server reaches this module only through `functions.shared.interface.application_server()`."""

from __future__ import annotations

from typing import Any

from functions.appserver import eventlog, queue
from functions.appserver.models import Device
from functions.lorawan.types import AES128Key
from functions.shared import envelope
from functions.shared.interface import QueuedDownlink

mark_sent = queue.mark_sent
requeue = queue.requeue
remove_from_queue = queue.remove


def queue_head(dev_eui: str, limit: int = 2) -> list[QueuedDownlink]:
    return queue.pending(dev_eui, limit)


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


def app_s_key(dev_eui: str) -> AES128Key | None:
    device = _device(dev_eui)
    if device is None or device.app_s_key is None:
        return None
    return AES128Key.parse(envelope.open_sealed(device.app_s_key, context=dev_eui)["app_s_key"])


def record_gateway_event(gateway_id: str, kind: str, body: dict[str, Any]) -> None:
    eventlog.record(eventlog.gateway_subject(gateway_id), kind, body)
