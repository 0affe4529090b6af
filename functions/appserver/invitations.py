"""Membership by invitation: an organization admin invites an e-mail address, and its user joins by
accepting (or declines). Nobody is added to an organization without consent, and inviting an address
answers the same whether or not a user has it, so addresses cannot be probed.

An invitation is a Membership item whose range key is `invite#<e-mail>` instead of a user id: it is
found by the organization (its members' query) and by the invited address (the `user` index), and it
never grants a role, since roles are read by real user ids.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pynamodb.exceptions import PutError

from functions.appserver.accounts import normalize_email
from functions.appserver.models import Membership, Organization, User

INVITATION_PREFIX = "invite#"


def _key(email: str) -> str:
    return INVITATION_PREFIX + normalize_email(email)


def invite(org_id: str, email: str, role: str) -> Membership:
    """Invite `email` with `role` (an existing invitation gets the new role). An address whose user is
    already a member keeps its role: that is changed through the member, not by inviting again."""
    invitation = Membership(org_id, _key(email), role=role, email=normalize_email(email))
    user = next(iter(User.by_email.query(normalize_email(email), limit=1)), None)
    if user is not None:
        try:
            Membership.get(org_id, user.user_id)
            return invitation  # already a member: nothing to do, and the answer does not say so
        except Membership.DoesNotExist:
            pass
    invitation.save()
    return invitation


def out(invitation: Membership) -> dict[str, Any]:
    return {"email": invitation.email, "role": invitation.role, "status": "invited"}


def of_organization(org_id: str) -> list[Membership]:
    return list(Membership.query(org_id, Membership.user_id.startswith(INVITATION_PREFIX)))


def withdraw(org_id: str, email: str) -> None:
    Membership(org_id, _key(email)).delete()


def for_user(user: User) -> list[dict[str, Any]]:
    """The invitations waiting for this user's address, with the organizations' names."""
    found = []
    for invitation in Membership.by_user.query(_key(user.email)):
        try:
            name = Organization.get(invitation.org_id).name
        except Organization.DoesNotExist:
            continue
        found.append(
            {"organization_id": invitation.org_id, "organization_name": name, "role": invitation.role}
        )
    return found


def _pending(org_id: str, user: User) -> Membership:
    try:
        return Membership.get(org_id, _key(user.email))
    except Membership.DoesNotExist as exc:
        raise NotFoundError(f"no invitation to organization {org_id}") from exc


def accept(org_id: str, user: User) -> Membership:
    invitation = _pending(org_id, user)
    membership = Membership(org_id, user.user_id, role=invitation.role, email=user.email)
    try:
        membership.save(condition=Membership.user_id.does_not_exist())  # never overwrite a member's role
    except PutError:
        membership = Membership.get(org_id, user.user_id)  # a member already: the invitation is moot
    invitation.delete()
    return membership


def decline(org_id: str, user: User) -> None:
    _pending(org_id, user).delete()
