"""Who is calling, and what they may do.

Credentials (all `Authorization: Bearer ...`): a login JWT (functions/appserver/sessions.py); an API key
`ll_<key_id>_<secret>` of which only the secret's SHA-256 is stored; or the deployment's administrator
key, of which the functions only receive the SHA-256 (LORALESS_ADMIN_API_KEY_SHA256). A fresh
deployment without any of them refuses every call: closed, not open.

`authorize()` is the one table of permissions: every route calls it with the organization that owns
the object it touches. Objects of an organization the caller is not a member of are reported as not
found, so ids of other tenants cannot even be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from aws_lambda_powertools.event_handler.exceptions import ForbiddenError, NotFoundError

from functions.appserver import sessions
from functions.appserver.models import ApiKey, Membership, User

API_KEY_PREFIX = "ll_"
ROLES = ("admin", "device_admin", "gateway_admin", "viewer")
Role = Literal["admin", "device_admin", "gateway_admin", "viewer"]


class Resource(StrEnum):
    ORGANIZATION = "organization"
    MEMBERS = "members"
    API_KEYS = "api keys"
    APPLICATIONS = "applications"
    DEVICE_PROFILES = "device profiles"
    DEVICES = "devices"
    GATEWAYS = "gateways"


WRITES: Mapping[str, frozenset[Resource]] = {
    "admin": frozenset(Resource),
    "device_admin": frozenset({Resource.APPLICATIONS, Resource.DEVICE_PROFILES, Resource.DEVICES}),
    "gateway_admin": frozenset({Resource.GATEWAYS}),
    "viewer": frozenset(),
}
ADMIN_ONLY_READS = frozenset({Resource.API_KEYS})


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "api_key", "admin_key"]
    user_id: str | None = None
    is_admin: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)  # org_id -> role
    read_only: bool = False

    def organizations(self) -> list[str]:
        return sorted(self.roles)


def authorize(principal: Principal, org_id: str, resource: Resource, *, write: bool) -> None:
    """Return if `principal` may read (or write) `resource` of organization `org_id`, else raise."""
    if principal.is_admin:
        if write and principal.read_only:
            raise ForbiddenError("this API key is read-only")
        return
    role = principal.roles.get(org_id)
    if role is None:
        raise NotFoundError("not found")
    if not write:
        if resource in ADMIN_ONLY_READS and role != "admin":
            raise ForbiddenError(f"only an organization admin may see its {resource}")
        return
    if principal.read_only:
        raise ForbiddenError("this API key is read-only")
    if resource not in WRITES.get(role, frozenset()):
        raise ForbiddenError(f"a {role} may not change {resource}")


def require_global_admin(principal: Principal, *, write: bool = True) -> None:
    if not principal.is_admin:
        raise ForbiddenError("only a global administrator may do this")
    if write and principal.read_only:
        raise ForbiddenError("this API key is read-only")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """(key_id, the token to show once, the hash of its secret to store)."""
    key_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(32)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", _sha256(secret)


def user_principal(
    user_id: str, *, read_only: bool = False, session_version: int | None = None
) -> Principal | None:
    """The user's principal; None when the user is gone, or when `session_version` (a login token's) is
    older than the user's (the password changed since)."""
    try:
        user = User.get(user_id)
    except User.DoesNotExist:
        return None
    if session_version is not None and session_version != int(user.session_version or 0):
        return None
    roles = {m.org_id: m.role for m in Membership.by_user.query(user_id)}  # invitations have no user id
    return Principal("user", user_id, bool(user.is_admin), roles, read_only)


def _api_key_principal(token: str) -> Principal | None:
    key_id, _, secret = token.removeprefix(API_KEY_PREFIX).partition("_")
    if not key_id or not secret:
        return None
    try:
        key = ApiKey.get(key_id)
    except ApiKey.DoesNotExist:
        return None
    if not hmac.compare_digest(_sha256(secret), key.secret_sha256):
        return None
    if key.user_id:
        return user_principal(key.user_id, read_only=bool(key.read_only))
    if key.org_id:
        return Principal("api_key", None, False, {key.org_id: "admin"}, bool(key.read_only))
    return None


def principal_for(header: str | None) -> Principal | None:
    """The caller behind an Authorization header, or None when the credentials are not valid."""
    if not header or not header.startswith("Bearer "):
        return None
    token = header.removeprefix("Bearer ").strip()
    admin = os.environ.get("LORALESS_ADMIN_API_KEY_SHA256", "")
    if admin and hmac.compare_digest(_sha256(token), admin):
        return Principal("admin_key", None, True)
    if token.startswith(API_KEY_PREFIX):
        return _api_key_principal(token)
    try:
        user_id, version = sessions.subject(token)
    except sessions.InvalidSession:
        return None
    return user_principal(user_id, session_version=version)


def new_admin_key() -> tuple[str, str]:
    """A deployment administrator key, and the SHA-256 for LORALESS_ADMIN_API_KEY_SHA256."""
    key = API_KEY_PREFIX + "admin_" + secrets.token_urlsafe(32)
    return key, _sha256(key)
