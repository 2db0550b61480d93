"""User accounts: creation and password checks (argon2id)."""

from __future__ import annotations

import functools
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from triage_service.cpu import run_cpu
from triage_service.domain.codes import Role
from triage_service.domain.users import User, parse_board_list
from triage_service.store.store import Store

# argon2-cffi's defaults are the RFC 9106 "low memory" argon2id profile.
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths take the same time."""
    return _hasher.hash(secrets.token_hex(16))


class DuplicateUser(ValueError):
    """The username is already taken."""


async def add_user(
    store: Store,
    *,
    username: str,
    role: Role,
    password: str,
    display_name: str | None = None,
    boards: tuple[str, ...] = (),
) -> User:
    """Create an account; raise `DuplicateUser` if the username exists."""
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise ValueError("username must be 1-64 printable characters without spaces")
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
    return await save_user(
        store,
        username=username,
        role=role,
        password_hash=await hash_password(password),
        display_name=display_name,
        boards=boards,
    )


async def hash_password(password: str) -> str:
    """The argon2id hash of `password`, computed in the CPU pool off the event loop."""
    return await run_cpu(_hasher.hash, password)


async def save_user(
    store: Store,
    *,
    username: str,
    role: Role,
    password_hash: str,
    display_name: str | None = None,
    boards: tuple[str, ...] = (),
) -> User:
    """Store an account with an already computed hash (bulk tools share one hash); `boards`
    are those a clinician or supervisor covers (empty: all)."""
    user = User(
        id=secrets.token_hex(8),
        username=username,
        display_name=display_name or username,
        role=role,
        boards=boards,
    )
    if not await store.accounts.claim_username(username, user.id):
        raise DuplicateUser(f"user {username!r} already exists")
    await store.accounts.save(
        user.id,
        {
            **user.as_dict(),
            "boards": ",".join(boards),
            "password_hash": password_hash,
            "created_ms": int(time.time() * 1000),
        },
    )
    return user


async def get_user(store: Store, user_id: str) -> User | None:
    """The account with this id, if any."""
    fields = await store.accounts.load(user_id)
    return _user(fields) if fields else None


async def authenticate(store: Store, username: str, password: str) -> User | None:
    """The account if the password matches, else None (in constant-ish time)."""
    user_id = await store.accounts.id_of(username)
    fields = await store.accounts.load(user_id) if user_id else {}
    matches = await run_cpu(_verify, fields.get("password_hash"), password)
    return _user(fields) if fields and matches else None


def _verify(stored: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored or _dummy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False


async def count_users(store: Store) -> int:
    """How many accounts exist."""
    return await store.accounts.count()


def _user(fields: dict[str, str]) -> User:
    return User(
        id=fields["id"],
        username=fields["username"],
        display_name=fields["display_name"],
        role=Role(fields["role"]),
        boards=parse_board_list(fields.get("boards")),
    )
