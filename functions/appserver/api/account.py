"""Login, the caller's own view (`/me`, personal API keys) and user management (global admins)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    ForbiddenError,
    UnauthorizedError,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from functions.appserver import invitations, login_throttle, sessions
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
def login(credentials: Login) -> Response[dict[str, Any]]:
    """Throttled per account and per source address (login_throttle.py): 429 with Retry-After."""
    source = router.current_event.request_context.identity.source_ip or "unknown"
    refused = login_throttle.refusal(credentials.email, source)
    if refused is not None:
        return Response(
            429,
            content_types.APPLICATION_JSON,
            {"message": refused.message},
            headers={"Retry-After": str(refused.retry_after_s)},
        )
    user = find_by_email(credentials.email)
    if user is None:
        verify_password(credentials.password, _DUMMY_HASH)
    if user is None or not verify_password(credentials.password, user.password_hash):
        login_throttle.failed(credentials.email, source)
        raise UnauthorizedError("wrong e-mail or password")
    login_throttle.succeeded(credentials.email)
    token, expires = sessions.issue(user.user_id, version=int(user.session_version or 0))
    answer = {"token": token, "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}
    return Response(200, content_types.APPLICATION_JSON, answer)


def _user_out(user: User, *, locked: bool | None = None) -> dict[str, Any]:
    out = {"id": user.user_id, "email": user.email, "is_admin": bool(user.is_admin)}
    if locked is not None:  # shown to global administrators, who can lift it
        out["locked"] = locked
    return out


def _users_out(users: list[User]) -> list[dict[str, Any]]:
    locked = login_throttle.locked([u.email for u in users])
    return [_user_out(u, locked=u.email in locked) for u in users]


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


def _own_user() -> User:
    principal = caller()
    if not principal.user_id:
        raise BadRequestError("invitations are for users; log in as one")
    return get_or_404(User, principal.user_id, what="user")


@router.get("/me/invitations")
def my_invitations() -> dict[str, Any]:
    return listing(invitations.for_user(_own_user()))


@router.post("/me/invitations/<org_id>")
def accept_invitation(org_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> dict[str, Any]:
    """Join the organization with the role it invited this user's address with."""
    if caller().read_only:
        raise ForbiddenError("this API key is read-only")
    membership = invitations.accept(org_id, _own_user())
    return {"organization_id": org_id, "role": membership.role}


@router.delete("/me/invitations/<org_id>")
def decline_invitation(org_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> tuple[dict[str, Any], int]:
    if caller().read_only:
        raise ForbiddenError("this API key is read-only")
    invitations.decline(org_id, _own_user())
    return {}, 204


class UserCreate(BaseModel):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=MIN_LENGTH, max_length=200)
    is_admin: bool = False


class UserUpdate(BaseModel):
    is_admin: bool


class PasswordChange(BaseModel):
    password: str = Field(min_length=MIN_LENGTH, max_length=200)
    current_password: str | None = Field(
        default=None, max_length=200, description="required to change one's own password"
    )


@router.get("/users")
def list_users() -> dict[str, Any]:
    require_global_admin(caller(), write=False)
    query = router.current_event.get_query_string_value
    return page(User.scan, limit=query("limit"), cursor=query("cursor"), render_all=_users_out)


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
    user = _self_or_admin(user_id, write=False)
    return _users_out([user])[0] if caller().is_admin else _user_out(user)


@router.delete("/users/<user_id>/lock")
def unlock_user(user_id: Annotated[str, Path(pattern=UUID_PATTERN)]) -> tuple[dict[str, Any], int]:
    """Lift the lock that failed logins put on the account (global administrators)."""
    require_global_admin(caller())
    login_throttle.unlock(get_or_404(User, user_id, what="user").email)
    return {}, 204


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
    for key in ApiKey.by_user.query(user_id):  # its personal keys end with it
        key.delete()
    delete_user(user)
    return {}, 204


@router.put("/users/<user_id>/password")
def change_password(
    user_id: Annotated[str, Path(pattern=UUID_PATTERN)], body: PasswordChange
) -> tuple[dict[str, Any], int]:
    """One's own password needs the current one; a global administrator resets another's without it.
    Either way every login session of the user ends (its session version moves on)."""
    user = _self_or_admin(user_id, write=True)
    if caller().user_id == user_id:
        if body.current_password is None:
            raise RequestValidationError(
                [{"loc": ("body", "current_password"), "msg": "Field required", "type": "missing"}]
            )
        if not verify_password(body.current_password, user.password_hash):
            raise ForbiddenError("the current password is not right")
    user.update(actions=[User.password_hash.set(hash_password(body.password)), User.session_version.add(1)])
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
