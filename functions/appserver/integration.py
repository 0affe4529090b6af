"""Network events to applications: decrypt the application payload with the AppSKey the join server
kept, decode it with the device profile's codec, and publish ChirpStack v4 integration JSON on
`application/{id}/device/{dev_eui}/event/{type}`; the same JSON goes to the application's HTTP webhook
(through the Webhook function, which retries) and into the device's recent event log."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.appserver import eventlog
from functions.appserver.codecs import Codec, decode_uplink
from functions.appserver.models import Application, Device, DeviceProfile
from functions.lorawan import crypto
from functions.lorawan.types import AES128Key, DevAddr
from functions.shared import aws, envelope
from functions.shared.interface import NetworkEvent
from functions.shared.settings import SETTINGS

log = logging.getLogger("loraless.appserver")
# A decoded object travels in an MQTT message (IoT Core takes 128 KiB), a webhook body and an event-log
# item (DynamoDB takes 400 KB): beyond this it is left out and a log event says so.
MAX_OBJECT_BYTES = 64 * 1024
MAX_CODEC_MESSAGES = 10  # errors and warnings of one decode, as log events
MAX_MESSAGE_CHARS = 1000
Publish = Callable[[str, dict[str, Any]], None]
Dispatch = Callable[[str, str, dict[str, Any]], None]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def device_info(
    device: Device, application: Application | None = None, profile: DeviceProfile | None = None
) -> dict[str, Any]:
    info = {
        "tenantId": device.org_id or None,
        "applicationId": device.application_id,
        "applicationName": application.name if application else None,
        "deviceProfileId": device.device_profile_id or None,
        "deviceProfileName": profile.name if profile else None,
        "deviceName": device.name,
        "devEui": device.dev_eui,
    }
    return {k: v for k, v in info.items() if v is not None}


def log_event(
    info: dict[str, Any], level: str, code: str, description: str, context: dict[str, str]
) -> dict[str, Any]:
    """ChirpStack's LogEvent: `code` one of its LogCodes, `context` string pairs (e.g. deduplication_id)."""
    return {"time": _now_iso(), "deviceInfo": info, "level": level, "code": code,
            "description": description, "context": {k: str(v) for k, v in context.items()}}  # fmt: skip


def status_fields(details: dict[str, Any]) -> dict[str, Any]:
    """DevStatusAns as ChirpStack reports it (LoRaWAN 1.0.4 §5.5): battery 0 = external power source,
    255 = level unavailable, 1..254 scaled to a percentage; the margin is the demodulation SNR margin."""
    battery = details.get("battery")
    fields: dict[str, Any] = {"margin": details.get("margin")}
    if isinstance(battery, int):
        fields |= {
            "externalPowerSource": battery == 0,
            "batteryLevelUnavailable": battery == 255,
            "batteryLevel": round(battery / 254 * 100, 2) if 0 < battery < 255 else 0.0,
        }
    return fields


def ack_fields(details: dict[str, Any]) -> dict[str, Any]:
    """AckEvent: whether the device acknowledged the confirmed downlink `queueItemId` sent with `fCntDown`."""
    return {
        "queueItemId": details.get("queueItemId"),
        "acknowledged": bool(details.get("acknowledged")),
        "fCntDown": details.get("fCntDown"),
    }


def tx_ack_message(event: NetworkEvent, info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A gateway's TX acknowledgement: a `txack` event when it sent the downlink; when it did not, a `log`
    event with code DOWNLINK_GATEWAY (ChirpStack v4 has no error field in TxAckEvent)."""
    details = event.details
    status = str(details.get("status", "OK"))
    if status != "OK":
        context = {"downlink_id": details.get("downlinkId"), "gateway_id": details.get("gatewayId"),
                   "queue_item_id": details.get("queueItemId")}  # fmt: skip
        description = f"the gateway did not send the downlink: {status}"
        return "log", log_event(info, "ERROR", "DOWNLINK_GATEWAY", description,
                                {k: v for k, v in context.items() if v is not None})  # fmt: skip
    message = {
        "downlinkId": details.get("downlinkId"),
        "time": event.time,
        "deviceInfo": info,
        "queueItemId": details.get("queueItemId"),
        "fCntDown": details.get("fCntDown"),
        "gatewayId": details.get("gatewayId"),
        "txInfo": details.get("txInfo"),
    }
    return "txack", message


# A warm function remembers what it read of an application (name, HTTP integration) and a device profile
# (name, codec) for READ_MEMORY_S, so most events read only their device (whose AppSKey changes at every
# join, hence read each time). An edit reaches the events of each warm function within that time.
READ_MEMORY_S = 30.0
READ_MEMORY_ITEMS = 1_000
_remembered: dict[tuple[str, str], tuple[Any, float]] = {}


def forget() -> None:
    """Forget what was read (tests that rewrite an application or a profile under the same id)."""
    _remembered.clear()


def _get[M: (Application, DeviceProfile)](model: type[M], key: str, *, now: float | None = None) -> M | None:
    if not key:
        return None
    at = time.monotonic() if now is None else now
    known = _remembered.get((model.__name__, key))
    if known is not None and at - known[1] < READ_MEMORY_S:
        found: M | None = known[0]
        return found
    try:
        found = model.get(key)
    except model.DoesNotExist:
        found = None
    if len(_remembered) >= READ_MEMORY_ITEMS:
        _remembered.clear()
    _remembered[(model.__name__, key)] = (found, at)
    return found


def webhook_dispatch(application_id: str, event_type: str, body: dict[str, Any]) -> None:
    """Hand the event to the Webhook function (asynchronous: Lambda retries it, then dead-letters it)."""
    if SETTINGS.webhook_function:
        aws.invoke(
            SETTINGS.webhook_function,
            {"application_id": application_id, "event_type": event_type, "body": body},
            wait=False,
        )


def _decrypt(device: Device, event: NetworkEvent) -> bytes | None:
    if not (
        event.frm_payload and device.app_s_key is not None and event.dev_addr and event.f_cnt is not None
    ):
        return None
    app_s_key = AES128Key.parse(envelope.open_sealed(device.app_s_key, context=device.dev_eui)["app_s_key"])
    return crypto.decrypt_frm_payload(
        app_s_key, crypto.UPLINK, DevAddr.parse(event.dev_addr), event.f_cnt, bytes.fromhex(event.frm_payload)
    )


def handle_network_event(
    event: NetworkEvent, publish: Publish, dispatch: Dispatch = webhook_dispatch
) -> str | None:
    """Publish one event; returns its topic (None when the device is unknown here)."""
    try:
        device = Device.get(event.dev_eui)
    except Device.DoesNotExist:
        log.warning("event %s for unknown device %s dropped", event.type, event.dev_eui)
        return None
    application = _get(Application, device.application_id)
    profile = _get(DeviceProfile, device.device_profile_id)
    info = device_info(device, application, profile)
    base = f"application/{device.application_id}/device/{device.dev_eui}/event"
    message: dict[str, Any] = {
        "deduplicationId": event.deduplication_id,
        "time": event.time,
        "deviceInfo": info,
    }
    extra_events: list[tuple[str, dict[str, Any]]] = []
    kind = event.type
    if event.type == "up":
        message |= {"devAddr": event.dev_addr, "adr": event.adr, "dr": event.dr, "fCnt": event.f_cnt,
                    "fPort": event.f_port, "confirmed": event.confirmed, "rxInfo": event.rx_info,
                    "txInfo": event.tx_info}  # fmt: skip
        plain = _decrypt(device, event)
        if plain is not None:
            message["data"] = base64.b64encode(plain).decode()
            codec = (
                Codec.of_profile(profile.codec_kind, profile.codec_script, profile.profile_id)
                if profile
                else None
            )
            if codec is not None and event.f_port:
                decoded = decode_uplink(
                    codec,
                    f_port=event.f_port,
                    data=plain,
                    recv_time=event.time,
                )
                errors = list(decoded.errors)
                if decoded.object is not None and not errors:
                    size = len(json.dumps(decoded.object, separators=(",", ":")))
                    if size <= MAX_OBJECT_BYTES:
                        message["object"] = decoded.object
                    else:  # the uplink still goes out, without it (issue 15: a 3 MB object lost the uplink)
                        errors.append(
                            f"decodeUplink returned an object of {size} bytes, more than {MAX_OBJECT_BYTES}; "
                            "the uplink is sent without it"
                        )
                levels = [("ERROR", p) for p in errors] + [("WARNING", w) for w in decoded.warnings]
                context = {"deduplication_id": event.deduplication_id or ""}
                for level, text in levels[:MAX_CODEC_MESSAGES]:
                    extra_events.append(
                        ("log", log_event(info, level, "UPLINK_CODEC", text[:MAX_MESSAGE_CHARS], context))
                    )
    elif event.type == "join":
        message["devAddr"] = event.dev_addr
    elif event.type == "status":
        message |= status_fields(event.details)
    elif event.type == "ack":
        message |= ack_fields(event.details)
    elif event.type == "txack":
        kind, message = tx_ack_message(event, info)
    elif event.type == "log":
        details = event.details
        message = log_event(info, str(details.get("level", "INFO")), str(details.get("code")),
                            str(details.get("description", "")), details.get("context") or {})  # fmt: skip
    else:
        log.warning("event of unknown type %s for %s dropped", event.type, event.dev_eui)
        return None
    message = {k: v for k, v in message.items() if v is not None}
    topic = f"{base}/{kind}"
    publish(topic, message)
    for extra_type, body in extra_events:
        publish(f"{base}/{extra_type}", body)
    subject = eventlog.device_subject(device.dev_eui)
    for event_type, body in [(kind, message), *extra_events]:
        if event.watched or event_type == "log":  # the live events of a device someone watches; errors
            eventlog.record(subject, event_type, body)
        if application is not None and application.http_integration:
            dispatch(application.application_id, event_type, body)
    return topic
