"""API authentication. Until organizations and users land (issue 5), one administrator API key: the
functions receive only its SHA-256 (LORALESS_ADMIN_API_KEY_SHA256), compare in constant time, and refuse
every request when it is not configured, so a fresh deployment is closed, not open."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

API_KEY_PREFIX = "ll_"


def new_api_key() -> tuple[str, str]:
    """A key to show once, and the hash to store."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hashlib.sha256(key.encode()).hexdigest()


def authorized(header: str | None) -> bool:
    expected = os.environ.get("LORALESS_ADMIN_API_KEY_SHA256", "")
    if not expected or not header or not header.startswith("Bearer "):
        return False
    presented = hashlib.sha256(header.removeprefix("Bearer ").strip().encode()).hexdigest()
    return hmac.compare_digest(presented, expected)
