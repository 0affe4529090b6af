"""Downlinks from applications: ChirpStack's MQTT `DownlinkCommand` (and the REST queue) into the
device queue. A malformed command is answered with a `log` event on the device's topic, never an error
that would make the platform retry it. An `object` instead of `data` is encoded by the device profile's
codec."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.appserver import queue
from functions.appserver.codecs import Codec, CodecError, encode_downlink
from functions.appserver.models import Device, DeviceProfile

log = logging.getLogger("loraless.appserver.downlinks")
Publish = Callable[[str, dict[str, Any]], None]


def _log_event(publish: Publish, application_id: str, dev_eui: str, code: str, description: str) -> None:
    publish(
        f"application/{application_id}/device/{dev_eui}/event/log",
        {
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "level": "ERROR",
            "code": code,
            "description": description,
            "deviceInfo": {"applicationId": application_id, "devEui": dev_eui},
        },
    )


def _expiry(value: Any) -> datetime | None:
    """ChirpStack's `expiresAt` (RFC 3339) in a DownlinkCommand."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"expiresAt is not an RFC 3339 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise ValueError("expiresAt needs a time zone")
    return moment.astimezone(UTC)


def _encode(device: Device, f_port: Any, obj: dict[str, Any]) -> tuple[Any, bytes]:
    """ChirpStack's `object` downlink: the device profile's codec (`encodeDownlink`) makes the bytes."""
    try:
        profile = DeviceProfile.get(device.device_profile_id)
    except DeviceProfile.DoesNotExist as exc:
        raise ValueError("the device has no profile whose codec could encode the object") from exc
    if profile.codec_kind == "none":
        raise ValueError("the device profile has no codec to encode an object; send data instead")
    codec = Codec(profile.codec_kind, profile.codec_script, profile.profile_id)  # type: ignore[arg-type]
    try:
        port, data = encode_downlink(codec, f_port=f_port if isinstance(f_port, int) else None, obj=obj)
    except CodecError as exc:
        raise ValueError(f"the codec could not encode the object: {exc}") from exc
    return (port if port is not None else f_port), data


def handle_mqtt_command(event: dict[str, Any], publish: Publish) -> str | None:
    """Queue one `application/{id}/device/{dev_eui}/command/down` message; returns the queue item id."""
    application_id = str(event.get("topic_application_id", ""))
    dev_eui = str(event.get("topic_dev_eui", "")).lower()
    try:
        if str(event.get("devEui", "")).lower() != dev_eui:
            raise ValueError("devEui in the payload differs from the topic's")
        device = Device.get(dev_eui)
        if device.application_id != application_id:
            raise ValueError(f"device {dev_eui} is not in application {application_id}")
        f_port = event.get("fPort")
        if isinstance(event.get("object"), dict) and not event.get("data"):
            f_port, data = _encode(device, f_port, event["object"])
        else:
            data = base64.b64decode(str(event.get("data", "")), validate=True)
        if not isinstance(f_port, int) or isinstance(f_port, bool):
            raise ValueError("fPort must be an integer")
        expires = _expiry(event.get("expiresAt"))
        return queue.enqueue(
            dev_eui, f_port, data, confirmed=bool(event.get("confirmed", False)), expires_at=expires
        )
    except Device.DoesNotExist:
        log.warning("downlink command for unknown device %s dropped", dev_eui)
        return None
    except (ValueError, binascii.Error, queue.QueueError) as exc:
        log.warning("downlink command for %s refused: %s", dev_eui, exc)
        _log_event(publish, application_id, dev_eui, "DOWNLINK_PAYLOAD", str(exc))
        return None
