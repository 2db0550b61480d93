"""Command line: `triage-service serve`, `user add|list|disable|enable|reset-password|
set-role|reset-mfa`, `migrate`, `stats rebuild` and `report`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from triage_service.domain.codes import Role
from triage_service.domain.routing import parse_boards
from triage_service.logs import configure_logging
from triage_service.settings import Settings, SettingsError, add_arguments

REPORT_FORMATS = ("json", "html", "pdf")


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
    _report_arguments(add_arguments(report))
    parsed = parser.parse_args(args)
    nested = parsed.command in ("user", "stats")
    try:
        settings = Settings.from_env(argv=args[2:] if nested else args[1:])
    except SettingsError as e:
        print(f"triage-service: bad setting: {e}", file=sys.stderr)
        raise SystemExit(2) from e
    configure_logging(settings.log_format if parsed.command == "serve" else "text")
    # Each command imports what it runs, so an account command starts without the web
    # application, the report's renderer or the identity providers' client (in half the
    # import time: docs/performance.md, "The test suite's time").
    if parsed.command == "serve":
        from triage_service.web.command import serve

        serve(settings)
    elif parsed.command == "migrate":
        from triage_service.cli_store import migrate_command

        raise SystemExit(asyncio.run(migrate_command(settings)))
    elif parsed.command == "stats":
        from triage_service.cli_store import stats_rebuild_command

        raise SystemExit(asyncio.run(stats_rebuild_command(settings)))
    elif parsed.command == "report":
        from triage_service.cli_report import report_command

        raise SystemExit(asyncio.run(report_command(settings, parsed)))
    else:
        from triage_service.cli_user import user_action, with_store

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


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    """The report command's own flags (the settings' flags are added beside them)."""
    parser.add_argument("--board", required=True, help="the health board's id (areas file)")
    parser.add_argument("--month", required=True, help="the board's local month, YYYY-MM")
    parser.add_argument("--format", choices=REPORT_FORMATS, default="html", help="default html")
    parser.add_argument("--out", required=True, type=Path, help="the file to write")


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
