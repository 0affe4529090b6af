"""Login, the caller's own view (`/me`, personal API keys) and user management (global admins)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    ForbiddenError,
    UnauthorizedError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from functions.appserver import sessions
from functions.appserver.accounts import EmailTaken, create_user, delete_user, find_by_email
from functions.appserver.api.common import UUID_PATTERN, caller, get_or_404, listing, page
from functions.appserver.auth import new_api_key, require_global_admin
from functions.appserver.models import ApiKey, Membership, Organization, User
from functions.appserver.passwords import MIN_LENGTH, hash_password, verify_password

router = APIGatewayRouter()
EMAIL = r"^[^@\s]+@[^@\s]+$"
# Checked against when the e-mail is unknown, so that a login takes as long either way.
_DUMMY_HASH = hash_password("not a password of anyone")


class Login(BaseModel):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=1, max_length=200)


@router.post("/login")
def login(credentials: Login) -> dict[str, Any]:
    user = find_by_email(credentials.email)
    if user is None:
        verify_password(credentials.password, _DUMMY_HASH)
        raise UnauthorizedError("wrong e-mail or password")
    if not verify_password(credentials.password, user.password_hash):
        raise UnauthorizedError("wrong e-mail or password")
    token, expires = sessions.issue(user.user_id)
    return {"token": token, "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}


def _user_out(user: User) -> dict[str, Any]:
    return {"id": user.user_id, "email": user.email, "is_admin": bool(user.is_admin)}


@router.get("/me")
def me() -> dict[str, Any]:
    principal = caller()
    user = None
    if principal.user_id:
        user = _user_out(get_or_404(User, principal.user_id, what="user"))
    elif principal.kind == "admin_key":
        user = {"id": None, "email": "(administrator key)", "is_admin": True}
    organizations = []
    for org_id, role in sorted(principal.roles.items()):
        try:
            organization = Organization.get(org_id)
        except Organization.DoesNotExist:
            continue
        organizations.append({"id": org_id, "name": organization.name, "role": role})
    return {"user": user, "organizations": organizations, "read_only": principal.read_only}


class UserCreate(BaseModel):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=MIN_LENGTH, max_length=200)
    is_admin: bool = False


class UserUpdate(BaseModel):
    is_admin: bool


class PasswordChange(BaseModel):
    password: str = Field(min_length=MIN_LENGTH, max_length=200)


@router.get("/users")
def list_users() -> dict[str, Any]:
    require_global_admin(caller(), write=False)
    query = router.current_event.get_query_string_value
    return page(User.scan, _user_out, limit=query("limit"), cursor=query("cursor"))


@router.post("/users")
def add_user(body: UserCreate) -> tuple[dict[str, Any], int]:
    require_global_admin(caller())
    try:
        user = create_user(body.email, body.password, is_admin=body.is_admin)
    except EmailTaken as exc:
        return {"message": str(exc)}, 409
    return _user_out(user), 201


def _self_or_admin(user_id: str, *, write: bool) -> User:
    principal = caller()
    if principal.user_id != user_id:
        require_global_admin(principal, write=write)
    elif write and principal.read_only:
        raise ForbiddenError("this API key is read-only")
    return get_or_404(User, user_id, what="user")


@router.get("/users/<user_id>")
def get_user(user_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> dict[str, Any]:
    return _user_out(_self_or_admin(user_id, write=False))


@router.put("/users/<user_id>")
def update_user(user_id: Annotated[str, Path(pattern=UUID_PATTERN)], body: UserUpdate) -> dict[str, Any]:
    require_global_admin(caller())
    user = get_or_404(User, user_id, what="user")
    if user.user_id == caller().user_id and not body.is_admin:
        raise BadRequestError("an administrator cannot take away its own administrator role")
    user.update(actions=[User.is_admin.set(body.is_admin)])
    return _user_out(user)


@router.delete("/users/<user_id>")
def remove_user(user_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> tuple[dict[str, Any], int]:
    require_global_admin(caller())
    user = get_or_404(User, user_id, what="user")
    if user.user_id == caller().user_id:
        raise BadRequestError("an administrator cannot delete itself")
    for membership in Membership.by_user.query(user_id):
        membership.delete()
    delete_user(user)
    return {}, 204


@router.put("/users/<user_id>/password")
def change_password(
    user_id: Annotated[str, Path(pattern=UUID_PATTERN)], body: PasswordChange
) -> tuple[dict[str, Any], int]:
    user = _self_or_admin(user_id, write=True)
    user.update(actions=[User.password_hash.set(hash_password(body.password))])
    return {}, 204


# -- personal API keys ------------------------------------------------------------------------------


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    read_only: bool = False


def api_key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.key_id,
        "name": key.name,
        "read_only": bool(key.read_only),
        "created_at": key.created_at,
    }


def _own_user_id() -> str:
    principal = caller()
    if not principal.user_id:
        raise BadRequestError("personal API keys belong to users; log in as one")
    if principal.read_only:
        raise ForbiddenError("this API key is read-only")
    return principal.user_id


@router.get("/me/api-keys")
def list_own_keys() -> dict[str, Any]:
    user_id = _own_user_id()
    keys = list(ApiKey.by_user.query(user_id))
    return listing(api_key_out(k) for k in sorted(keys, key=lambda k: k.created_at))


@router.post("/me/api-keys")
def add_own_key(body: ApiKeyCreate) -> tuple[dict[str, Any], int]:
    user_id = _own_user_id()
    key_id, token, digest = new_api_key()
    key = ApiKey(key_id, secret_sha256=digest, user_id=user_id, name=body.name, read_only=body.read_only)
    key.save()
    return api_key_out(key) | {"token": token}, 201


@router.delete("/me/api-keys/<key_id>")
def remove_own_key(key_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> tuple[dict[str, Any], int]:
    user_id = _own_user_id()
    key = get_or_404(ApiKey, key_id, what="API key")
    if key.user_id != user_id:
        return {"message": f"no API key {key_id}"}, 404
    key.delete()
    return {}, 204
