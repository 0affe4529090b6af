"""Basics Station credentials, shared by the API (which issues them) and the bridge (which checks them).

A gateway's token is 256 random bits sent as `Authorization: Bearer <token>` on its LNS and CUPS
connections. The table keeps its SHA-256 (a fast hash suffices for a random secret of that size) to
check it, and a sealed copy (functions/shared/envelope.py, bound to the gateway) so CUPS can hand a
rotated token to the gateway; the previous token's hash stays accepted by CUPS until the next rotation,
so a gateway still holding it can fetch the new one.
"""

from __future__ import annotations

import hashlib
import secrets

from pynamodb.attributes import BinaryAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from functions.shared.tables import SharedClientModel, table_meta


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sealing_context(gateway_id: str) -> str:
    """The encryption context a gateway's sealed token is bound to."""
    return f"station-token:{gateway_id}"


def tc_key(token: str) -> str:
    """The `tc.key` / `cups.key` file for token authentication: the header lines Station sends."""
    return f"Authorization: Bearer {token}\r\n"


class StationCredentials(SharedClientModel):
    """A Basics Station gateway's credentials and what it last said of itself. Written by the API (the
    token, for a gateway registered to an organization) and by the bridge (`station`: its `version`
    message and when it connected); read by the bridge to admit the gateway and by CUPS to hand out the
    current token. A table of its own: the bridge may read and write it and nothing else of the stack's."""

    Meta = table_meta("STATION_CREDENTIALS_TABLE", "loraless-station-credentials")
    gateway_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    token_sha256 = UnicodeAttribute()
    token_sealed = BinaryAttribute(legacy_encoding=False)
    previous_token_sha256 = UnicodeAttribute(null=True)
    issued_at = NumberAttribute()
    station = JSONAttribute(null=True)
