"""Whether a gateway is registered: the uplink function's one question about gateways (ChirpStack refuses
frames from gateways nobody registered). Apart from `gateways.py`, so that function reaches the Gateway
table only, not the gateway statistics or the event log."""

from __future__ import annotations

import time

from functions.network.models import Gateway

REGISTERED_MEMORY_S = 60.0  # how long a process trusts what it read of a gateway's registration

_registered: dict[str, tuple[bool, float]] = {}


def registered(gateway_id: str, *, now: float | None = None) -> bool:
    """Whether an organization registered the gateway (the API sets `org_id`; a gateway only heard has
    none). Remembered per process for REGISTERED_MEMORY_S, so a warm function reads it once a minute."""
    now = time.monotonic() if now is None else now
    known = _registered.get(gateway_id)
    if known is not None and now - known[1] < REGISTERED_MEMORY_S:
        return known[0]
    try:
        found = bool(Gateway.get(gateway_id).org_id)
    except Gateway.DoesNotExist:
        found = False
    if len(_registered) > 10_000:
        _registered.clear()
    _registered[gateway_id] = (found, now)
    return found
