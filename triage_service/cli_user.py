"""`triage-service user add|list|disable|enable|reset-password|set-role|reset-mfa`: accounts
in the configured (or embedded) store. The identity providers' code (an HTTP client, JOSE) and
the second factors' are imported only by the commands that use them: a third of the start of
every other command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable

from triage_service.domain.codes import Role
from triage_service.domain.times import wall_clock_ms
from triage_service.domain.users import User
from triage_service.service.accounts import (
    DuplicateUser,
    add_user,
    checked_account,
    list_users,
    reset_password,
    set_disabled,
    set_phone,
    set_role,
)
from triage_service.settings import Settings
from triage_service.store.embedded import EmbeddedRedis
from triage_service.store.store import Store, StoreError, connect

StoreAction = Callable[[Store], Awaitable[str]]


def user_action(parsed: argparse.Namespace) -> StoreAction:
    """What a `user` subcommand does to the store; it returns the line to print. A new
    account is checked first (ValueError), before any store is opened."""
    action = parsed.action
    reads_password = action == "reset-password" or (action == "add" and parsed.password_stdin)
    password = sys.stdin.readline().rstrip("\n") if reads_password else ""
    if action == "add":
        check_new_account(parsed, password)

    async def run(store: Store) -> str:
        if action == "add" and parsed.oidc:
            from triage_service.service.identity import provision_account

            user = await provision_account(
                store,
                username=parsed.username,
                role=Role(parsed.role),
                oidc=parsed.oidc,
                issuers=parsed.issuers,
                display_name=parsed.display_name,
                boards=parsed.boards,
                team=parsed.team,
                known_boards=parsed.known_boards,
                now_ms=wall_clock_ms(),
            )
            if parsed.phone:
                await set_phone(store, user.id, parsed.phone)
            return f"created {parsed.role} {parsed.username} (signs in through {parsed.oidc})"
        if action == "add":
            await add_user(
                store,
                username=parsed.username,
                role=Role(parsed.role),
                password=password,
                display_name=parsed.display_name,
                boards=parsed.boards,
                team=parsed.team,
                known_boards=parsed.known_boards,
                phone=parsed.phone,
            )
            team = f" in team {parsed.team}" if parsed.team else ""
            return f"created {parsed.role} {parsed.username}{team}"
        if action == "list":
            return "\n".join(_account_line(u, off) for u, off in await list_users(store))
        if action in ("disable", "enable"):
            await set_disabled(store, parsed.username, action == "disable")
            return f"{action}d {parsed.username}"
        if action == "reset-password":
            await reset_password(store, parsed.username, password)
            return f"new password for {parsed.username}"
        if action == "reset-mfa":
            from triage_service.service.mfa import reset_second_factors

            removed = await reset_second_factors(store, parsed.username, now_ms=wall_clock_ms())
            return f"second factors of {parsed.username} removed ({removed} passkeys)"
        await set_role(store, parsed.username, Role(parsed.role))
        return f"{parsed.username} is now {parsed.role}"

    return run


def check_new_account(parsed: argparse.Namespace, password: str) -> None:
    """ValueError naming what is wrong with the account `user add` would create."""
    if parsed.oidc:
        from triage_service.service.identity import split_subject

        split_subject(parsed.oidc, parsed.issuers)
    checked_account(
        Role(parsed.role),
        username=parsed.username,
        display_name=parsed.display_name,
        team=parsed.team,
        known_boards=parsed.known_boards,
        phone=parsed.phone,
        password=None if parsed.oidc else password,
    )


def _account_line(user: User, disabled: bool) -> str:
    state = "disabled" if disabled else "enabled"
    return f"{user.username}\t{user.role.value}\t{state}\t{user.display_name}"


async def with_store(settings: Settings, action: StoreAction) -> int:
    """Run `action` against the configured (or embedded) Redis; 0 on success, 1 on a refusal."""
    embedded = EmbeddedRedis(settings.data_path) if settings.uses_embedded_redis else None
    url = await embedded.start() if embedded else settings.redis_url
    try:
        store = Store(
            await connect(
                url,
                sentinels=settings.sentinel_addresses,
                service=settings.redis_service,
                attempts=3,
            ),
            settings.key_prefix,
        )
        try:
            line = await action(store)
        finally:
            await store.close()
    except (DuplicateUser, ValueError, StoreError) as e:
        print(f"triage-service: {e}", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            await embedded.stop()
    if line:
        print(line)
    return 0
