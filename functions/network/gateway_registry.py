"""What the network functions ask about a gateway per frame, from one read of its Gateway item: whether an
organization registered it (ChirpStack refuses frames from gateways nobody registered), and whether
someone reads its frames (its `watch_until`, set by the API's `/gateways/{id}/frames`), so its frame log
costs no request of its own. Apart from `gateways.py`, so the uplink function reaches the Gateway table
only, not the gateway event log."""

from __future__ import annotations

import time
from dataclasses import dataclass

from functions.network.models import Gateway

# How long a process trusts what it read of a gateway, as the application server remembers its reads: a
# registration, or someone opening the gateway's frames, reaches each warm function within this time.
MEMORY_S = 30.0


@dataclass(frozen=True)
class GatewayFacts:
    registered: bool
    watch_until: float  # epoch s; 0 when nobody watches

    def watched(self, now: float | None = None) -> bool:
        return self.watch_until > (time.time() if now is None else now)


_known: dict[str, tuple[GatewayFacts, float]] = {}


def facts(gateway_id: str, *, now: float | None = None) -> GatewayFacts:
    """The gateway's registration and watch flag, read at most once per MEMORY_S per process (an eventually
    consistent GetItem of its item)."""
    now = time.monotonic() if now is None else now
    known = _known.get(gateway_id)
    if known is not None and now - known[1] < MEMORY_S:
        return known[0]
    try:
        item = Gateway.get(gateway_id, attributes_to_get=["org_id", "watch_until"])
        found = GatewayFacts(bool(item.org_id), float(item.watch_until or 0))
    except Gateway.DoesNotExist:
        found = GatewayFacts(False, 0.0)
    if len(_known) > 10_000:
        _known.clear()
    _known[gateway_id] = (found, now)
    return found


def registered(gateway_id: str, *, now: float | None = None) -> bool:
    """Whether an organization registered the gateway (the API sets `org_id`; a gateway only heard has
    none)."""
    return facts(gateway_id, now=now).registered


def watched(gateway_id: str) -> bool:
    """Whether someone reads the gateway's frames now (as this process last read its flag)."""
    return facts(gateway_id).watched()


def forget() -> None:
    """Drop what this process remembers (tests, which change gateways between frames)."""
    _known.clear()
