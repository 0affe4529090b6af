"""The one strict checker of what applications and gateways see, with ChirpStack v4's own definitions
(`chirpstack-api`): every application event parses as its `chirpstack_api.integration` message and every
gateway message as its `chirpstack_api.gw` message with `json_format.Parse(..., ignore_unknown_fields=
False)`, so a field ChirpStack does not have, a misspelt enum name or a wrong type fails the test that saw
it. The MQTT inbox (`tests/support/mosquitto.py`) and the e2e HTTP-integration receiver pass everything
they receive through `check_topic` / `check_integration_event`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chirpstack_api import gw, integration
from google.protobuf import json_format
from google.protobuf.message import Message

INTEGRATION_EVENTS: dict[str, type[Message]] = {
    "up": integration.UplinkEvent,
    "join": integration.JoinEvent,
    "ack": integration.AckEvent,
    "txack": integration.TxAckEvent,
    "status": integration.StatusEvent,
    "log": integration.LogEvent,
    "location": integration.LocationEvent,
}
APPLICATION_COMMANDS: dict[str, type[Message]] = {"down": integration.DownlinkCommand}
GATEWAY_EVENTS: dict[str, type[Message]] = {
    "up": gw.UplinkFrame,
    "stats": gw.GatewayStats,
    "ack": gw.DownlinkTxAck,
    "mesh": gw.MeshEvent,
}
GATEWAY_COMMANDS: dict[str, type[Message]] = {"down": gw.DownlinkFrame, "config": gw.GatewayConfiguration}
GATEWAY_STATES: dict[str, type[Message]] = {"conn": gw.ConnState}

_APPLICATION = re.compile(
    r"^application/(?P<app>[^/]+)/device/(?P<dev_eui>[^/]+)/(?P<dir>event|command)/(?P<kind>[^/]+)$"
)
_GATEWAY = re.compile(
    r"^(?:(?P<prefix>[^/]+)/)?gateway/(?P<gateway_id>[^/]+)/(?P<dir>event|command|state)/(?P<kind>[^/]+)$"
)


class NotChirpStack(AssertionError):
    """A message a ChirpStack v4 application or gateway bridge would refuse; says which and why."""


def _parse(kind: str, message_type: type[Message], payload: bytes | str | dict[str, Any]) -> Message:
    text = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    try:
        return json_format.Parse(text, message_type(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        name = message_type.DESCRIPTOR.full_name
        raise NotChirpStack(f"{kind} is not a ChirpStack {name}: {exc}") from None


def check_integration_event(event_type: str, payload: bytes | str | dict[str, Any]) -> Message:
    """An application event (MQTT `event/{type}` or the HTTP integration's `?event={type}`)."""
    message_type = INTEGRATION_EVENTS.get(event_type)
    if message_type is None:
        raise NotChirpStack(f"ChirpStack v4 has no application event {event_type!r}")
    parsed = _parse(f"event {event_type}", message_type, payload)
    fields = json.loads(payload) if isinstance(payload, str | bytes) else payload
    if event_type == "log" and not fields.get("code"):
        raise NotChirpStack(f"log event without a ChirpStack LogCode: {payload!r}")
    return parsed


def check_topic(topic: str, payload: bytes | str) -> Message | None:
    """A message on a ChirpStack topic, by its topic; None for topics that are not ChirpStack's."""
    if match := _APPLICATION.match(topic):
        kind = match["kind"]
        if match["dir"] == "command":
            if kind not in APPLICATION_COMMANDS:
                raise NotChirpStack(f"ChirpStack v4 has no application command {kind!r} ({topic})")
            return _parse(topic, APPLICATION_COMMANDS[kind], payload)
        parsed = check_integration_event(kind, payload)
        info = getattr(parsed, "device_info", None)
        if info is not None and (info.dev_eui, info.application_id) not in {
            (match["dev_eui"], match["app"]),
            (match["dev_eui"], ""),
        }:
            raise NotChirpStack(f"{topic}: deviceInfo {info.dev_eui}/{info.application_id} differs")
        return parsed
    if match := _GATEWAY.match(topic):
        tables = {"event": GATEWAY_EVENTS, "command": GATEWAY_COMMANDS, "state": GATEWAY_STATES}
        message_type = tables[match["dir"]].get(match["kind"])
        if message_type is None:
            raise NotChirpStack(f"ChirpStack v4 has no gateway {match['dir']} {match['kind']!r} ({topic})")
        return _parse(topic, message_type, payload)
    return None
