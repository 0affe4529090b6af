"""Which Basics Station gateways may connect and with which credentials: the gateway table, read by
the bridge. A gateway must be registered to an organization and hold a token issued through the API
(`POST /gateways/{id}/station-credentials`; functions/shared/station_credentials.py). Answers are
cached briefly so a reconnection storm does not become a read storm.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pynamodb.exceptions import UpdateError

from functions.shared.station_credentials import StationCredentials, sealing_context, token_hash

__all__ = ["CupsGateway", "Directory", "DynamoDirectory", "StationGateway", "bearer_token", "token_hash"]

log = logging.getLogger("loraless.bridge.station")

CACHE_S = 10.0


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header: `Bearer <token>` or the bare token (Station sends the
    lines of its `tc.key` file as they are)."""
    if not authorization:
        return None
    value = authorization.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value or None


@dataclass(frozen=True)
class StationGateway:
    gateway_id: str
    registered: bool
    token_sha256: str | None

    def accepts(self, token: str | None) -> bool:
        if not self.registered or not self.token_sha256 or token is None:
            return False
        return hmac.compare_digest(token_hash(token), self.token_sha256)


@dataclass(frozen=True)
class CupsGateway:
    """What CUPS knows of a gateway: the hashes of tokens it accepts (current, and the one before a
    rotation, so a gateway holding the old token can still fetch the new one) and the current token
    (opened from its sealed copy) to hand out."""

    gateway_id: str
    accepted_sha256: tuple[str, ...]
    token: str | None


class Directory(Protocol):
    def lookup(self, gateway_id: str) -> StationGateway | None: ...
    def record_station(self, gateway_id: str, station: dict[str, Any]) -> None: ...
    def cups_lookup(self, gateway_id: str) -> CupsGateway | None: ...


class DynamoDirectory:
    """The station credentials table through its PynamoDB model (the only table the bridge touches)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cache: dict[str, tuple[float, StationGateway | None]] = {}

    def lookup(self, gateway_id: str) -> StationGateway | None:
        cached = self._cache.get(gateway_id)
        if cached is not None and self.clock() - cached[0] < CACHE_S:
            return cached[1]
        try:
            item = StationCredentials.get(gateway_id)
            answer: StationGateway | None = StationGateway(gateway_id, bool(item.org_id), item.token_sha256)
        except StationCredentials.DoesNotExist:
            answer = None
        self._cache[gateway_id] = (self.clock(), answer)
        return answer

    def cups_lookup(self, gateway_id: str) -> CupsGateway | None:
        """For CUPS: the tokens it accepts and the current one, opened from its sealed copy."""
        from functions.shared import envelope

        try:
            item = StationCredentials.get(gateway_id)
        except StationCredentials.DoesNotExist:
            return None
        token = envelope.open_sealed(item.token_sealed, context=sealing_context(gateway_id))["token"]
        accepted = tuple(h for h in (item.token_sha256, item.previous_token_sha256) if h)
        return CupsGateway(gateway_id, accepted, token)

    def record_station(self, gateway_id: str, station: dict[str, Any]) -> None:
        """What the gateway said of itself (`version`), and when it connected, for the API to show."""
        try:
            StationCredentials(gateway_id).update(
                actions=[StationCredentials.station.set(station)],
                condition=StationCredentials.gateway_id.exists(),
            )
        except UpdateError as exc:
            log.warning("gateway %s: station details not recorded: %s", gateway_id, exc)
