"""Login throttling, per account and per source address (OWASP ASVS 4.0 §2.2.1: anti-automation).

An account (by e-mail, whether or not a user has it, so the answers cannot tell the two apart) is locked
for `LOCK_S` after `ACCOUNT_FAILURES` wrong passwords in a row; while locked even the right password is
refused, and a global administrator can lift the lock at once. A source address that fails
`SOURCE_FAILURES` times within `WINDOW_S` is refused until its window ends, whatever account it tries.

The counters are items of the `Unique` table under `login#...` keys (a second item shape on that
table, so the account tables stay the API's alone and no table is added).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from functions.appserver.accounts import normalize_email
from functions.appserver.models import Unique
from functions.shared.tables import SharedClientModel

ACCOUNT_FAILURES = 5
SOURCE_FAILURES = 20
WINDOW_S = 15 * 60
LOCK_S = 15 * 60


class LoginCounter(SharedClientModel):
    """Failed logins of one account or one source address."""

    class Meta(Unique.Meta):  # type: ignore[misc]
        pass

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute(default="login-throttle")  # every item of the table has an owner
    failures = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)


def account_key(email: str) -> str:
    return f"login#account#{normalize_email(email)}"


def source_key(address: str) -> str:
    return f"login#source#{address}"


@dataclass(frozen=True)
class Refusal:
    """Why a login is not even tried, and for how long."""

    message: str
    retry_after_s: int


def _get(key: str) -> LoginCounter | None:
    try:
        return LoginCounter.get(key)
    except LoginCounter.DoesNotExist:
        return None


def refusal(email: str, source: str, *, now: float | None = None) -> Refusal | None:
    """A refusal when the source or the account is throttled, else None (the password may be checked)."""
    now = time.time() if now is None else now
    counter = _get(source_key(source))
    if counter is not None and counter.failures >= SOURCE_FAILURES and now < counter.window_start + WINDOW_S:
        wait = int(counter.window_start + WINDOW_S - now) + 1
        return Refusal("too many failed logins from this address; try again later", wait)
    counter = _get(account_key(email))
    if counter is not None and now < float(counter.locked_until or 0):
        return Refusal(
            "this account is locked after too many failed logins; try again later or ask an "
            "administrator to unlock it",
            int(counter.locked_until - now) + 1,
        )
    return None


def _count(key: str, now: float) -> LoginCounter:
    """One more failure in the current window (an atomic ADD, so parallel guesses all count); a window
    that is over, or none yet, starts afresh at one."""
    counter = LoginCounter(key)
    try:
        counter.update(
            actions=[LoginCounter.failures.add(1)],
            condition=LoginCounter.window_start > int(now - WINDOW_S),
        )
    except UpdateError:
        counter = LoginCounter(key, failures=1, window_start=int(now))
        counter.save()
    return counter


def failed(email: str, source: str, *, now: float | None = None) -> None:
    """Count a wrong password against the source and the account; lock the account at the limit."""
    now = time.time() if now is None else now
    _count(source_key(source), now)
    account = _count(account_key(email), now)
    if account.failures >= ACCOUNT_FAILURES:
        account.update(actions=[LoginCounter.locked_until.set(int(now + LOCK_S))])


def succeeded(email: str) -> None:
    """The right password, not throttled: the account's count starts again."""
    LoginCounter(account_key(email)).delete()


def unlock(email: str) -> None:
    """An administrator lifts the account's lock (and clears its count)."""
    LoginCounter(account_key(email)).delete()


def locked(emails: list[str], *, now: float | None = None) -> set[str]:
    """Which of these e-mails are locked now (one batch read)."""
    now = time.time() if now is None else now
    keys = {account_key(e): e for e in emails}
    found = LoginCounter.batch_get(list(keys)) if keys else []
    return {keys[c.key] for c in found if now < float(c.locked_until or 0)}
