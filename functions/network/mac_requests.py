"""What the network wants a device to use (LoRaWAN 1.0.4 §5, 1.1 §5): the application server's entry point.

`request(dev_eui, **desired)` stores desired values in the session's MAC state (`MacState.desired`). At
every uplink each request module (`functions/network/mac/`) compares them with what the device has
acknowledged (the session's RX settings, `MacState.applied` for the rest) and generates its request when
they differ, as ChirpStack compares a device profile's RX settings with the session. Requests go out
only when they fit a downlink, and count only once acknowledged (`mac/discipline.py`).
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.regions import Region, get_region
from functions.network.mac.registry import FIELDS as REQUEST_OF_FIELD
from functions.network.models import DeviceSession
from functions.network.observability import logger

SAVE_ATTEMPTS = 5
# Desired field -> the request that sets it (each request module names its fields).
FIELDS: dict[str, str] = {name: request.NAME for name, request in REQUEST_OF_FIELD.items()}


class InvalidRequest(ValueError):
    """A desired value that is unknown or out of range, or a device without a session."""


def _normalise(desired: dict[str, Any], region: Region) -> dict[str, Any]:
    unknown = sorted(set(desired) - set(FIELDS))
    if unknown:
        raise InvalidRequest(f"unknown MAC settings {unknown}; known: {sorted(FIELDS)}")
    values = dict(desired)
    try:
        for request in dict.fromkeys(REQUEST_OF_FIELD.values()):
            values = request.normalise(values, region)
    except (LoRaWANError, TypeError, ValueError) as exc:
        raise InvalidRequest(str(exc)) from exc
    return values


def request(dev_eui: str, **desired: Any) -> dict[str, Any]:
    """Ask the network to bring a device to these settings; returns the whole desired state.

    Requests go out with the device's next downlinks and take effect when it acknowledges them. Asking
    again clears an earlier refusal of the same request, so it is tried once more.
    """
    for _ in range(SAVE_ATTEMPTS):
        try:
            session = DeviceSession.get(dev_eui, consistent_read=True)
        except DeviceSession.DoesNotExist as exc:
            raise InvalidRequest(f"device {dev_eui} has no session") from exc
        values = _normalise(desired, get_region(session.region))
        state = session.mac_state
        for name, value in values.items():
            current = getattr(state.desired, name)
            setattr(state.desired, name, {**current, **value} if isinstance(value, dict) else value)
        for name in values:
            state.failed.pop(FIELDS[name], None)
        try:
            session.save()  # conditional on `version`: an uplink in between makes us read again
        except PutError:
            continue
        logger.info("MAC settings requested", extra={"dev_eui": dev_eui, "settings": sorted(values)})
        return state.desired.to_json()
    raise RuntimeError(f"session of {dev_eui} kept changing; nothing requested")
