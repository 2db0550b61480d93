"""Command line: `triage-service serve`, `user add|list|disable|enable|reset-password|
set-role|reset-mfa`, `migrate`, `stats rebuild` and `report`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn

from triage_service.cli_report import add_report_arguments, report_command
from triage_service.cli_store import migrate_command, stats_rebuild_command
from triage_service.domain.codes import Role
from triage_service.domain.routing import parse_boards
from triage_service.domain.times import wall_clock_ms
from triage_service.domain.users import User
from triage_service.logs import configure_logging
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
from triage_service.service.identity import provision_account, split_subject
from triage_service.service.mfa import reset_second_factors
from triage_service.settings import Settings, SettingsError, add_arguments
from triage_service.store.embedded import EmbeddedRedis
from triage_service.store.store import Store, StoreError, connect


class OneLineErrors(argparse.ArgumentParser):
    """An argument parser that reports a mistake in one line, not a page of usage."""

    def error(self, message: str) -> NoReturn:
        """Print `prog: error: message` with a pointer to --help and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `triage-service` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = OneLineErrors(
        prog="triage-service", description="Remote mental-health triage for police."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_arguments(commands.add_parser("serve", help="run the server", allow_abbrev=False))
    user = commands.add_parser("user", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    _user_commands(user)
    add_arguments(commands.add_parser("migrate", help="bring the store's data layout up to date"))
    stats = commands.add_parser("stats", help="statistics upkeep").add_subparsers(
        dest="action", required=True
    )
    add_arguments(stats.add_parser("rebuild", help="rebuild the counters from the records"))
    report = commands.add_parser("report", help="a board's monthly report", allow_abbrev=False)
    add_report_arguments(add_arguments(report))
    parsed = parser.parse_args(args)
    nested = parsed.command in ("user", "stats")
    try:
        settings = Settings.from_env(argv=args[2:] if nested else args[1:])
    except SettingsError as e:
        print(f"triage-service: bad setting: {e}", file=sys.stderr)
        raise SystemExit(2) from e
    configure_logging(settings.log_format if parsed.command == "serve" else "text")
    if parsed.command == "serve":
        # Only the server needs the web application (aiohttp's server, aiortc, the pages):
        # the account and store commands start in a third of the time without them.
        from triage_service.web.command import serve

        serve(settings)
    elif parsed.command == "migrate":
        raise SystemExit(asyncio.run(migrate_command(settings)))
    elif parsed.command == "stats":
        raise SystemExit(asyncio.run(stats_rebuild_command(settings)))
    elif parsed.command == "report":
        raise SystemExit(asyncio.run(report_command(settings, parsed)))
    else:
        if parsed.action == "add":
            parsed.boards = _boards(parser, parsed, settings)
            parsed.known_boards = settings.areas.board_ids
            parsed.issuers = [p.issuer for p in settings.oidc_providers.values()]
            if not parsed.oidc and not parsed.password_stdin:
                parser.error("user add needs --password-stdin (or --oidc ISSUER:SUBJECT)")
        try:
            action = user_action(parsed)
        except ValueError as e:  # a new account refused before any store is opened
            print(f"triage-service: {e}", file=sys.stderr)
            raise SystemExit(1) from e
        raise SystemExit(asyncio.run(with_store(settings, action)))


def _boards(
    parser: OneLineErrors, parsed: argparse.Namespace, settings: Settings
) -> tuple[str, ...]:
    """`--boards` checked against the area directory (exit 2 naming the flag)."""
    try:
        return parse_boards(parsed.boards, settings.areas.board_ids)
    except ValueError as e:
        parser.error(f"--boards: {e}")


def _user_commands(user: argparse._SubParsersAction[OneLineErrors]) -> None:
    """The `user` subcommands and their arguments."""
    roles = [r.value for r in Role]
    add = add_arguments(user.add_parser("add", help="create an account", allow_abbrev=False))
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--display-name")
    add.add_argument(
        "--boards", help="health boards a clinician or supervisor covers: B1,B2 (default: all)"
    )
    add.add_argument("--team", help="receivers: the team SERVICE:BOARD, e.g. crisis_team:default")
    add.add_argument(
        "--phone", help="a call-back number shown to the people of a request and in handovers"
    )
    add.add_argument(
        "--oidc",
        metavar="ISSUER:SUBJECT",
        help="signs in through this identity provider only (no password): issuer and subject",
    )
    add_arguments(user.add_parser("list", help="list accounts", allow_abbrev=False))
    for name, text in (
        ("disable", "disable an account, ending its sessions"),
        ("enable", "enable a disabled account"),
    ):
        add_arguments(user.add_parser(name, help=text, allow_abbrev=False)).add_argument("username")
    reset = add_arguments(
        user.add_parser("reset-password", help="set a new password", allow_abbrev=False)
    )
    reset.add_argument("username")
    role = add_arguments(
        user.add_parser("set-role", help="give an account another role", allow_abbrev=False)
    )
    role.add_argument("username")
    role.add_argument("role", choices=roles)
    add_arguments(
        user.add_parser(
            "reset-mfa", help="remove an account's second factors (lost phone)", allow_abbrev=False
        )
    ).add_argument("username")
    for command in (add, reset):
        command.add_argument(
            "--password-stdin",
            action="store_true",
            required=command is reset,
            help="read the password from standard input",
        )


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
            removed = await reset_second_factors(store, parsed.username, now_ms=wall_clock_ms())
            return f"second factors of {parsed.username} removed ({removed} passkeys)"
        await set_role(store, parsed.username, Role(parsed.role))
        return f"{parsed.username} is now {parsed.role}"

    return run


def check_new_account(parsed: argparse.Namespace, password: str) -> None:
    """ValueError naming what is wrong with the account `user add` would create."""
    if parsed.oidc:
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
