"""The first global administrator: `python -m functions.appserver.bootstrap --email you@example.com`
(reads the password from --password-file or the terminal). The local cloud runs it at start with a
generated password; on AWS run it once with the stack's table names in the environment (see README)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from functions.appserver.accounts import create_user, find_by_email
from functions.appserver.passwords import MIN_LENGTH


def ensure_admin(email: str, password: str) -> bool:
    """Create the administrator unless a user with this e-mail exists; True when created."""
    if find_by_email(email) is not None:
        return False
    create_user(email, password, is_admin=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password-file", type=Path)
    args = parser.parse_args(argv)
    password = args.password_file.read_text().strip() if args.password_file else getpass.getpass("password: ")
    if len(password) < MIN_LENGTH:
        print(f"the password needs at least {MIN_LENGTH} characters", file=sys.stderr)
        return 2
    created = ensure_admin(args.email, password)
    print(f"administrator {args.email} {'created' if created else 'already exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
