"""Organizations (tenants), their members with roles, and their API keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from functions.appserver import invitations
from functions.appserver.accounts import find_by_email
from functions.appserver.api.account import EMAIL, ApiKeyCreate, api_key_out
from functions.appserver.api.common import (
    UUID_PATTERN,
    caller,
    get_or_404,
    listing,
    new_id,
    page,
    search_condition,
)
from functions.appserver.auth import Resource, authorize, new_api_key, require_global_admin
from functions.appserver.invitations import INVITATION_PREFIX
from functions.appserver.models import ApiKey, Application, DeviceProfile, Membership, Organization
from functions.shared.interface import network_server

router = APIGatewayRouter()
OrgId = Annotated[str, Path(pattern=UUID_PATTERN)]
RoleName = Literal["admin", "device_admin", "gateway_admin", "viewer"]


class OrganizationIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


def _out(organization: Organization) -> dict[str, Any]:
    return {"id": organization.org_id, "name": organization.name, "description": organization.description}


def organization(org_id: str, resource: Resource = Resource.ORGANIZATION, *, write: bool) -> Organization:
    """The organization, once the caller is allowed to read (or write) `resource` in it."""
    authorize(caller(), org_id, resource, write=write)
    return get_or_404(Organization, org_id, what="organization")


def list_in_organization(
    router_: APIGatewayRouter, model: type[Any], resource: Resource, render: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """A page of an organization's `model` items (`?organization_id=`, `search`, `limit`, `cursor`), once
    the caller may read `resource` in it."""
    query = router_.current_event.get_query_string_value
    org_id = query("organization_id")
    if not org_id:
        raise BadRequestError("organization_id is required")
    organization(org_id, resource, write=False)
    search = search_condition(model, query("search"))
    return page(
        lambda **kw: model.by_org.query(org_id, filter_condition=search, **kw),
        render,
        limit=query("limit"),
        cursor=query("cursor"),
    )


@router.get("/organizations")
def list_organizations() -> dict[str, Any]:
    principal = caller()
    query = router.current_event.get_query_string_value
    search = search_condition(Organization, query("search"))
    if principal.is_admin:
        return page(
            lambda **kw: Organization.scan(search, **kw), _out, limit=query("limit"), cursor=query("cursor")
        )
    found = []
    for org_id in principal.organizations():
        try:
            found.append(Organization.get(org_id))
        except Organization.DoesNotExist:
            continue
    needle = (query("search") or "").lower()
    return listing(_out(o) for o in found if needle in o.name_lower)


@router.post("/organizations")
def create_organization(body: OrganizationIn) -> tuple[dict[str, Any], int]:
    require_global_admin(caller())
    item = Organization(new_id(), name=body.name, name_lower=body.name.lower(), description=body.description)
    item.save(condition=Organization.org_id.does_not_exist())
    return _out(item), 201


@router.get("/organizations/<org_id>")
def get_organization(org_id: OrgId) -> dict[str, Any]:
    return _out(organization(org_id, write=False))


@router.put("/organizations/<org_id>")
def update_organization(org_id: OrgId, body: OrganizationIn) -> dict[str, Any]:
    item = organization(org_id, write=True)
    item.update(
        actions=[
            Organization.name.set(body.name),
            Organization.name_lower.set(body.name.lower()),
            Organization.description.set(body.description),
        ]
    )
    return _out(item)


@router.delete("/organizations/<org_id>")
def delete_organization(org_id: OrgId) -> tuple[dict[str, Any], int]:
    require_global_admin(caller())
    item = get_or_404(Organization, org_id, what="organization")
    for model in (Application, DeviceProfile, network_server().Gateway):
        if next(iter(model.by_org.query(org_id, limit=1)), None) is not None:  # type: ignore[attr-defined]
            raise BadRequestError(f"the organization still has {model.__name__.lower()}s; delete them first")
    for membership in Membership.query(org_id):
        membership.delete()
    for key in ApiKey.by_org.query(org_id):
        key.delete()
    item.delete()
    return {}, 204


# -- members ----------------------------------------------------------------------------------------


class MemberCreate(BaseModel):
    email: str = Field(pattern=EMAIL, max_length=254)
    role: RoleName


class MemberUpdate(BaseModel):
    role: RoleName


def _member_out(membership: Membership) -> dict[str, Any]:
    return {"user_id": membership.user_id, "email": membership.email, "role": membership.role}


MEMBERS_ONLY = ~Membership.user_id.startswith(INVITATION_PREFIX)


@router.get("/organizations/<org_id>/members")
def list_members(org_id: OrgId) -> dict[str, Any]:
    organization(org_id, Resource.MEMBERS, write=False)
    query = router.current_event.get_query_string_value
    return page(
        lambda **kw: Membership.query(org_id, filter_condition=MEMBERS_ONLY, **kw),
        _member_out,
        limit=query("limit"),
        cursor=query("cursor"),
    )


@router.post("/organizations/<org_id>/members")
def add_member(org_id: OrgId, body: MemberCreate) -> tuple[dict[str, Any], int]:
    """An organization admin invites an e-mail address (202, the same answer whether or not someone has
    it, so addresses cannot be probed); the user becomes a member on accepting. A global administrator,
    who sees every user anyway, adds an existing user at once (201)."""
    organization(org_id, Resource.MEMBERS, write=True)
    if caller().is_admin:
        user = find_by_email(body.email)
        if user is None:
            raise NotFoundError(f"no user with e-mail {body.email}")
        membership = Membership(org_id, user.user_id, role=body.role, email=user.email)
        try:
            Membership.get(org_id, user.user_id)
            return {"message": f"{user.email} is already a member"}, 409
        except Membership.DoesNotExist:
            membership.save()
        return _member_out(membership), 201
    invitation = invitations.invite(org_id, body.email, body.role)
    return invitations.out(invitation), 202


@router.get("/organizations/<org_id>/invitations")
def list_invitations(org_id: OrgId) -> dict[str, Any]:
    """Invitations not yet accepted (whether the addresses belong to users is not shown)."""
    organization(org_id, Resource.MEMBERS, write=False)
    return listing(invitations.out(i) for i in invitations.of_organization(org_id))


@router.delete("/organizations/<org_id>/invitations/<email>")
def withdraw_invitation(org_id: OrgId, email: str) -> tuple[dict[str, Any], int]:
    organization(org_id, Resource.MEMBERS, write=True)
    invitations.withdraw(org_id, email)
    return {}, 204


def _membership(org_id: str, user_id: str) -> Membership:
    try:
        return Membership.get(org_id, user_id)
    except Membership.DoesNotExist as exc:
        raise NotFoundError(f"no member {user_id}") from exc


def _keep_an_admin(org_id: str, leaving: str) -> None:
    admins = [
        m for m in Membership.query(org_id, filter_condition=MEMBERS_ONLY)
        if m.role == "admin" and m.user_id != leaving
    ]  # fmt: skip
    if not admins:
        raise BadRequestError("an organization keeps at least one admin")


@router.put("/organizations/<org_id>/members/<user_id>")
def update_member(
    org_id: OrgId, user_id: Annotated[str, Path(pattern=UUID_PATTERN)], body: MemberUpdate
) -> dict[str, Any]:
    organization(org_id, Resource.MEMBERS, write=True)
    membership = _membership(org_id, user_id)
    if membership.role == "admin" and body.role != "admin":
        _keep_an_admin(org_id, user_id)
    membership.update(actions=[Membership.role.set(body.role)])
    return _member_out(membership)


@router.delete("/organizations/<org_id>/members/<user_id>")
def remove_member(
    org_id: OrgId, user_id: Annotated[str, Path(pattern=UUID_PATTERN)]
) -> tuple[dict[str, Any], int]:
    organization(org_id, Resource.MEMBERS, write=True)
    membership = _membership(org_id, user_id)
    if membership.role == "admin":
        _keep_an_admin(org_id, user_id)
    membership.delete()
    return {}, 204


# -- organization API keys --------------------------------------------------------------------------


@router.get("/organizations/<org_id>/api-keys")
def list_api_keys(org_id: OrgId) -> dict[str, Any]:
    organization(org_id, Resource.API_KEYS, write=False)
    query = router.current_event.get_query_string_value
    return page(
        lambda **kw: ApiKey.by_org.query(org_id, **kw),
        api_key_out,
        limit=query("limit"),
        cursor=query("cursor"),
    )


@router.post("/organizations/<org_id>/api-keys")
def add_api_key(org_id: OrgId, body: ApiKeyCreate) -> tuple[dict[str, Any], int]:
    organization(org_id, Resource.API_KEYS, write=True)
    key_id, token, digest = new_api_key()
    key = ApiKey(key_id, secret_sha256=digest, org_id=org_id, name=body.name, read_only=body.read_only)
    key.save()
    return api_key_out(key) | {"token": token}, 201


@router.delete("/organizations/<org_id>/api-keys/<key_id>")
def remove_api_key(
    org_id: OrgId, key_id: Annotated[str, Path(pattern=UUID_PATTERN)]
) -> tuple[dict[str, Any], int]:
    organization(org_id, Resource.API_KEYS, write=True)
    key = get_or_404(ApiKey, key_id, what="API key")
    if key.org_id != org_id:
        raise NotFoundError(f"no API key {key_id}")
    key.delete()
    return {}, 204
