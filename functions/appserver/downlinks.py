"""Downlinks from applications: ChirpStack's MQTT `DownlinkCommand` (and the REST queue) into the
device queue. The command's `id` (a UUID) becomes the queue item's id, which `ack` and `txack` events
carry as `queueItemId`. Field names are taken in both proto3 JSON spellings (`devEui` or `dev_eui`), as
ChirpStack's readers take them. A refused command is answered with a `log` event on the device's topic
(a ChirpStack `LogCode`, the command id in `context`), never an error that would make the platform retry
it. An `object` instead of `data` is encoded by the device profile's codec."""

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


# proto3 JSON: a reader takes a field's lowerCamelCase JSON name and its original proto name alike
_PROTO_NAMES = {"dev_eui": "devEui", "f_port": "fPort", "expires_at": "expiresAt"}
CODEC = "DOWNLINK_CODEC"


class CommandRefused(ValueError):
    """A DownlinkCommand that is not queued; `code` is the ChirpStack LogCode its log event carries."""

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.code = code


def command_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The command with proto field names (`dev_eui`, `f_port`, `expires_at`) as their JSON names."""
    fields = dict(event)
    for proto, json_name in _PROTO_NAMES.items():
        if proto in fields and json_name not in fields:
            fields[json_name] = fields.pop(proto)
    return fields


def _f_port(value: Any) -> int:
    """proto3 JSON takes an integer as a number or a decimal string."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CommandRefused(f"fPort must be an integer, got {value!r}")
    return value


def _log_event(
    publish: Publish, application_id: str, dev_eui: str, code: str, description: str, context: dict[str, str]
) -> None:
    publish(
        f"application/{application_id}/device/{dev_eui}/event/log",
        {
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "level": "ERROR",
            "code": code,
            "description": description,
            "deviceInfo": {"applicationId": application_id, "devEui": dev_eui},
            "context": context,
        },
    )


def _expiry(value: Any) -> datetime | None:
    """ChirpStack's `expiresAt` (RFC 3339) in a DownlinkCommand."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandRefused(f"expiresAt is not an RFC 3339 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise CommandRefused("expiresAt needs a time zone")
    moment = moment.astimezone(UTC)
    if moment <= datetime.now(UTC):
        raise CommandRefused(f"expiresAt {value} has passed", "EXPIRED")
    return moment


def _encode(device: Device, f_port: Any, obj: dict[str, Any]) -> tuple[Any, bytes]:
    """ChirpStack's `object` downlink: the device profile's codec (`encodeDownlink`) makes the bytes."""
    try:
        if not device.device_profile_id:
            raise DeviceProfile.DoesNotExist
        profile = DeviceProfile.get(device.device_profile_id)
    except DeviceProfile.DoesNotExist as exc:
        raise CommandRefused("the device has no profile whose codec could encode the object", CODEC) from exc
    codec = Codec.of_profile(profile.codec_kind, profile.codec_script, profile.profile_id)
    if codec is None:
        raise CommandRefused("the device profile has no codec to encode an object; send data instead", CODEC)
    try:
        port, data = encode_downlink(codec, f_port=f_port if isinstance(f_port, int) else None, obj=obj)
    except CodecError as exc:
        raise CommandRefused(f"the codec could not encode the object: {exc}", CODEC) from exc
    return (port if port is not None else f_port), data


def handle_mqtt_command(event: dict[str, Any], publish: Publish) -> str | None:
    """Queue one `application/{id}/device/{dev_eui}/command/down` message; returns the queue item id."""
    application_id = str(event.get("topic_application_id", ""))
    dev_eui = str(event.get("topic_dev_eui", "")).lower()
    command = command_fields(event)
    command_id = str(command.get("id") or "")
    try:
        if str(command.get("devEui", "")).lower() != dev_eui:
            raise CommandRefused("devEui in the payload differs from the topic's")
        device = Device.get(dev_eui)
        if device.application_id != application_id:
            raise CommandRefused(f"device {dev_eui} is not in application {application_id}")
        f_port = command.get("fPort")
        if isinstance(command.get("object"), dict) and not command.get("data"):
            f_port, data = _encode(device, _f_port(f_port) if f_port is not None else None, command["object"])
        else:
            try:
                data = base64.b64decode(str(command.get("data", "")), validate=True)
            except binascii.Error as exc:
                raise CommandRefused(f"data is not base64: {exc}") from exc
        expires = _expiry(command.get("expiresAt"))
        return queue.enqueue(
            dev_eui, _f_port(f_port), data, confirmed=bool(command.get("confirmed", False)),
            expires_at=expires, item_id=command_id or None,
        )  # fmt: skip
    except Device.DoesNotExist:
        log.warning("downlink command for unknown device %s dropped", dev_eui)
        return None
    except (CommandRefused, queue.QueueError) as exc:
        code = exc.code if isinstance(exc, CommandRefused) else _queue_code(exc)
        log.warning("downlink command for %s refused: %s", dev_eui, exc)
        context = {"queue_item_id": command_id} if command_id else {}
        _log_event(publish, application_id, dev_eui, code, str(exc), context)
        return None


def _queue_code(exc: queue.QueueError) -> str:
    return "DOWNLINK_PAYLOAD_SIZE" if isinstance(exc, queue.PayloadTooLarge) else "UNKNOWN"
