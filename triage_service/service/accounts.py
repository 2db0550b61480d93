"""User accounts: creation, password checks (argon2id) and the account lifecycle (disable,
enable, new password, new role: each ends the user's sessions and sockets everywhere, and
each change is in the access log)."""

from __future__ import annotations

import functools
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from triage_service.cpu import run_cpu
from triage_service.domain.codes import Role
from triage_service.domain.models import PHONE_PATTERN
from triage_service.domain.teams import DEFAULT_BOARD, parse_team
from triage_service.domain.times import wall_clock_ms
from triage_service.domain.users import User, parse_board_list
from triage_service.service.audit import record_account_change
from triage_service.service.passwords import password_problem
from triage_service.service.sessions import end_user_sessions
from triage_service.store.store import Store

MAX_DISPLAY_NAME = 80

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
    team: str | None = None,
    known_boards: Iterable[str] = (DEFAULT_BOARD,),
    phone: str | None = None,
) -> User:
    """Create an account (a receiver with its team, whose board must be one of
    `known_boards`: the area directory's; any with a call-back `phone`); raise
    `DuplicateUser` if the username exists, ValueError for a bad name, password, team or
    phone."""
    team = checked_account(
        role,
        username=username,
        display_name=display_name,
        team=team,
        known_boards=known_boards,
        phone=phone,
        password=password,
    )
    user = await save_user(
        store,
        username=username,
        role=role,
        password_hash=await hash_password(password),
        display_name=display_name,
        boards=boards,
        team=team,
        phone=phone,
    )
    await record_account_change(store, user.id, "added", now_ms=wall_clock_ms())
    return user


def checked_account(
    role: Role,
    *,
    username: str,
    display_name: str | None,
    team: str | None,
    known_boards: Iterable[str],
    phone: str | None = None,
    password: str | None = None,
) -> str | None:
    """A new account's team, checked (`checked_team`); ValueError naming what is wrong with
    it, its call-back number, username, password (one signing in with a password) or display
    name. Touches no store: the command line checks before it opens one, so a mistyped
    `user add` answers at once and starts no database."""
    team = checked_team(role, team, known_boards)
    check_phone(phone)
    if problem := username_problem(username):
        raise ValueError(problem)
    if password is not None:
        context = [display_name] if display_name else []
        if problem := password_problem(password, username=username, context=context):
            raise ValueError(problem)
    if display_name is not None and (problem := display_name_problem(display_name)):
        raise ValueError(problem)
    return team


def check_phone(phone: str | None) -> None:
    """ValueError unless `phone` (if any) is a call-back number: 7-20 digits, spaces, +, (, )
    or -, as the request form's `officer_phone`."""
    if phone is not None and not re.fullmatch(PHONE_PATTERN, phone):
        raise ValueError("phone must be 7-20 digits, spaces, +, (, ) or -")


async def set_phone(store: Store, user_id: str, phone: str) -> None:
    """Give an account its call-back number (checked)."""
    check_phone(phone)
    await store.accounts.save(user_id, {"phone": phone})


def checked_team(role: Role, team: str | None, boards: Iterable[str]) -> str | None:
    """The checked team of a new account: receivers need one, nobody else may have one."""
    if role is Role.RECEIVER:
        if not team:
            raise ValueError("a receiver needs --team SERVICE:BOARD (e.g. crisis_team:default)")
        return parse_team(team, boards)
    if team:
        raise ValueError("only receivers belong to a team")
    return None


# Scripts that are written together (Japanese mixes kana and kanji): one script here.
SCRIPT_GROUPS = {"HIRAGANA": "HAN", "KATAKANA": "HAN", "CJK": "HAN"}


def username_problem(username: str) -> str | None:
    """Why `username` may not be used, or None: 1-64 printable characters without spaces,
    in their normal form (no full-width or ligature look-alikes), letters from one script
    (no Cyrillic look-alike letter among Latin ones), no symbols outside ASCII."""
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        return "username must be 1-64 printable characters without spaces"
    if unicodedata.normalize("NFKC", username) != username:
        return "username must be in plain (NFKC) form: no full-width or compatibility characters"
    scripts = set()
    for char in username:
        category = unicodedata.category(char)
        if category.startswith("L"):
            script = unicodedata.name(char, "UNKNOWN").split()[0]
            scripts.add(SCRIPT_GROUPS.get(script, script))
        elif not char.isascii() and not category.startswith("M"):
            return "username may hold letters of any one script, digits and ASCII symbols only"
    if len(scripts) > 1:
        return "username must not mix scripts (e.g. Latin with Cyrillic look-alikes)"
    return None


def display_name_problem(name: str) -> str | None:
    """Why `name` may not be shown as a display name (1-80 printable characters, no control
    or bidirectional-override characters), or None."""
    if not name.strip() or len(name) > MAX_DISPLAY_NAME:
        return f"display name must be 1-{MAX_DISPLAY_NAME} characters"
    if not name.isprintable():  # Cc and Cf: control characters and bidi overrides
        return "display name must be printable characters only"
    return None


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
    team: str | None = None,
    phone: str | None = None,
) -> User:
    """Store an account with an already computed hash (bulk tools share one hash); `boards`
    are those a clinician or supervisor covers (empty: all); `phone` its call-back number."""
    user = User(
        id=secrets.token_hex(8),
        username=username,
        display_name=display_name or username,
        role=role,
        boards=boards,
        team=team,
    )
    if not await store.accounts.claim_username(username, user.id):
        raise DuplicateUser(f"user {username!r} already exists")
    await store.accounts.save(
        user.id,
        {
            **user.as_dict(),
            "boards": ",".join(boards),
            "phone": phone or "",
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
    # A disabled account costs the same verification and gets the same answer as a wrong one.
    return _user(fields) if fields and matches and not fields.get("disabled") else None


def _verify(stored: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored or _dummy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False


async def count_users(store: Store) -> int:
    """How many accounts exist."""
    return await store.accounts.count()


async def list_users(store: Store) -> list[tuple[User, bool]]:
    """Every account with whether it is disabled, by username."""
    rows = await store.accounts.load_all()
    found = [(_user(f), bool(f.get("disabled"))) for f in rows if f]
    return sorted(found, key=lambda pair: pair[0].username.lower())


async def find_user_id(store: Store, username: str) -> str | None:
    """The id of the account named `username`, if there is one."""
    return await store.accounts.id_of(username)


async def find_user(store: Store, username: str) -> User:
    """The account named `username`; ValueError if there is none."""
    user_id = await store.accounts.id_of(username)
    user = await get_user(store, user_id) if user_id else None
    if user is None:
        raise ValueError(f"no user {username!r}")
    return user


async def set_disabled(store: Store, username: str, disabled: bool) -> User:
    """Disable (ending every session and socket at once) or re-enable an account."""
    user = await find_user(store, username)
    if disabled:
        await store.accounts.save(user.id, {"disabled": "1"})
        await end_user_sessions(store, user.id)
    else:
        await store.accounts.forget(user.id, "disabled")
    change = "disabled" if disabled else "enabled"
    await record_account_change(store, user.id, change, now_ms=wall_clock_ms())
    return user


async def reset_password(store: Store, username: str, password: str) -> User:
    """Give an account a new password (same rules as new accounts); its sessions end."""
    user = await find_user(store, username)
    if problem := password_problem(password, username=username, context=[user.display_name]):
        raise ValueError(problem)
    new_hash = await hash_password(password)
    await store.accounts.save(user.id, {"password_hash": new_hash})
    await end_user_sessions(store, user.id)
    await record_account_change(store, user.id, "password_reset", now_ms=wall_clock_ms())
    return user


async def set_role(store: Store, username: str, role: Role) -> User:
    """Give an account another role; its sessions (which carry the old role) end."""
    user = await find_user(store, username)
    if role is Role.RECEIVER and not user.team:
        raise ValueError("a receiver needs a team: add a new account with --team")
    await store.accounts.save(user.id, {"role": role.value})
    if role is not Role.RECEIVER and user.team:
        await store.accounts.forget(user.id, "team")
    await end_user_sessions(store, user.id)
    await record_account_change(store, user.id, f"role:{role.value}", now_ms=wall_clock_ms())
    return user


class WrongPassword(ValueError):
    """The password given as the current one is not."""


async def change_password(store: Store, user: User, *, old: str, new: str, keep: str) -> int:
    """The user's own change: `old` must be their password and `new` must pass the password
    rules (ValueError saying why; WrongPassword for `old`). The new hash and the end of every
    session but `keep` are one step; how many sessions ended."""
    if await authenticate(store, user.username, old) is None:
        raise WrongPassword("the current password is wrong")
    if new == old:
        raise ValueError("the new password must differ from the current one")
    context = [user.display_name]
    if problem := await run_cpu(password_problem, new, username=user.username, context=context):
        raise ValueError(problem)
    ended = await store.sessions.replace_password(user.id, await hash_password(new), keep=keep)
    await record_account_change(store, user.id, "password_changed", now_ms=wall_clock_ms(), by=user)
    return ended


def _user(fields: dict[str, str]) -> User:
    return User(
        id=fields["id"],
        username=fields["username"],
        display_name=fields["display_name"],
        role=Role(fields["role"]),
        boards=parse_board_list(fields.get("boards")),
        team=fields.get("team") or None,
    )
