"""Users and their e-mail uniqueness, shared by the API, the first-administrator bootstrap and tests."""

from __future__ import annotations

import uuid

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.appserver.models import Unique, User
from functions.appserver.passwords import hash_password


class EmailTaken(Exception):
    """Another user already has this e-mail address."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, *, is_admin: bool = False) -> User:
    """A new user, with the e-mail guard written in the same transaction (no duplicates under races)."""
    email = normalize_email(email)
    user = User(uuid.uuid4().hex, email=email, password_hash=hash_password(password), is_admin=is_admin)
    guard = Unique(f"email#{email}", owner=user.user_id)
    try:
        with TransactWrite(connection=User._get_connection().connection) as transaction:
            transaction.save(guard, condition=Unique.key.does_not_exist())
            transaction.save(user, condition=User.user_id.does_not_exist())
    except TransactWriteError as exc:
        raise EmailTaken(f"a user with e-mail {email} already exists") from exc
    return user


def find_by_email(email: str) -> User | None:
    for user in User.by_email.query(normalize_email(email), limit=1):
        return user
    return None


def delete_user(user: User) -> None:
    with TransactWrite(connection=User._get_connection().connection) as transaction:
        transaction.delete(user)
        transaction.delete(Unique(f"email#{user.email}"))
