"""Login sessions as JWTs (HS256, PyJWT). The signing secret comes from Secrets Manager on AWS (through
Powertools Parameters, cached for five minutes) and from LORALESS_JWT_SECRET in the local cloud.

Each token carries the user's session version (`ver`); changing the password bumps the version stored
with the user, which ends every session issued before, at once (auth.user_principal compares them)."""

from __future__ import annotations

import os
import time

import jwt

ISSUER = "loraless"
LIFETIME_S = 12 * 3600


class InvalidSession(Exception):
    """A token that is expired, forged or not ours."""


def _secret() -> str:
    local = os.environ.get("LORALESS_JWT_SECRET")
    if local:
        return local
    arn = os.environ.get("JWT_SECRET_ARN")
    if not arn:
        raise InvalidSession("sessions are not configured (no JWT secret)")
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=300))


def issue(user_id: str, *, version: int = 0, now: float | None = None) -> tuple[str, int]:
    """A token for `user_id` at session `version`, and when it expires (epoch seconds)."""
    issued = int(now if now is not None else time.time())
    expires = issued + LIFETIME_S
    claims = {"sub": user_id, "ver": version, "iat": issued, "exp": expires, "iss": ISSUER}
    return jwt.encode(claims, _secret(), algorithm="HS256"), expires


def subject(token: str) -> tuple[str, int]:
    """The user a valid token was issued to, and the session version it was issued at."""
    try:
        claims = jwt.decode(
            token, _secret(), algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidSession(str(exc)) from exc
    version = claims.get("ver", 0)
    if not isinstance(version, int):
        raise InvalidSession("malformed session version")
    return str(claims["sub"]), version
