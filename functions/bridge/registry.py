"""Which gateways this bridge process serves: where each pulls from, when it was last heard, whether it
is online. The PULL_DATA address is the only way to reach a gateway, so it expires if the keep-alives
stop (packet forwarders send one every 10 s by default)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Address = tuple[str, int]


@dataclass
class GatewayState:
    gateway_id: str
    version: int = 2
    pull_address: Address | None = None
    pulled_at: float = 0.0
    seen_at: float = 0.0
    online: bool = False
    stats: dict[str, int] = field(default_factory=dict)


class Registry:
    """Gateway state with two clocks: pull addresses expire after `pull_ttl_s`, gateways go offline
    after `offline_after_s` of silence."""

    def __init__(self, *, pull_ttl_s: float = 60.0, offline_after_s: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.pull_ttl_s = pull_ttl_s
        self.offline_after_s = offline_after_s
        self.clock = clock
        self.gateways: dict[str, GatewayState] = {}

    def heard(self, gateway_id: str, version: int) -> tuple[GatewayState, bool]:
        """Record a datagram; returns the state and whether the gateway just came online."""
        state = self.gateways.setdefault(gateway_id, GatewayState(gateway_id))
        state.version = version
        state.seen_at = self.clock()
        came_online = not state.online
        state.online = True
        return state, came_online

    def pulled(self, gateway_id: str, version: int, address: Address) -> tuple[GatewayState, bool, bool]:
        """Record a PULL_DATA: (state, whether this process newly serves its downlinks, whether it just
        came online)."""
        state, came_online = self.heard(gateway_id, version)
        new = state.pull_address is None
        state.pull_address = address
        state.pulled_at = self.clock()
        return state, new, came_online

    def pull_address(self, gateway_id: str) -> Address | None:
        state = self.gateways.get(gateway_id)
        if state is None or state.pull_address is None:
            return None
        if self.clock() - state.pulled_at > self.pull_ttl_s:
            return None
        return state.pull_address

    def expire(self) -> tuple[list[str], list[str]]:
        """Forget stale pull addresses and mark silent gateways offline: (no longer pulling, went offline)."""
        now = self.clock()
        unpulled, offline = [], []
        for state in self.gateways.values():
            if state.pull_address is not None and now - state.pulled_at > self.pull_ttl_s:
                state.pull_address = None
                unpulled.append(state.gateway_id)
            if state.online and now - state.seen_at > self.offline_after_s:
                state.online = False
                offline.append(state.gateway_id)
        return unpulled, offline
