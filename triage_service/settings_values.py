"""The settings' values read from text: each parser raises SettingsError naming the setting.

A setting arrives as a string (a `TRIAGE_*` variable or a `--flag`); the few that hold more
than a scalar (pairs, lists, JSON, addresses) are read here, so `settings.py` only declares
and checks them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from triage_service.domain.codes import Role

ENV_PREFIX = "TRIAGE_"
# Keys that sign or hash (secret_key, webhook secrets): at least 256 bits.
MIN_SECRET_BYTES = 32
Network = IPv4Network | IPv6Network


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where a webhook's deliveries go and the secret that signs them."""

    url: str
    secret: str


def env_name(f: dataclasses.Field[Any]) -> str:
    """The environment variable of setting `f`, e.g. TRIAGE_REDIS_URL."""
    return ENV_PREFIX + f.name.upper()


def flag_name(f: dataclasses.Field[Any]) -> str:
    """The command-line flag of setting `f`, e.g. --redis-url."""
    return "--" + f.name.replace("_", "-")


def add_flags(
    parser: argparse.ArgumentParser, fields: Iterable[dataclasses.Field[Any]]
) -> argparse.ArgumentParser:
    """Add one flag per setting to `parser` (defaults None: unset flags do not override)."""
    for f in fields:
        help_text = f"{f.metadata['help']} (env {env_name(f)}, default {f.default})"
        if f.type == "bool" and f.default:
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag_name(f), action=action, default=None, help=help_text)
        elif f.type == "bool":
            parser.add_argument(
                flag_name(f), action="store_const", const=True, default=None, help=help_text
            )
        else:
            parser.add_argument(flag_name(f), type=_converter(f), default=None, help=help_text)
    return parser


def _converter(f: dataclasses.Field[Any]) -> Any:
    def flag_value(raw: str) -> Any:
        try:
            return convert(f, raw)
        except SettingsError as e:
            raise argparse.ArgumentTypeError(str(e)) from e

    return flag_value


def convert(f: dataclasses.Field[Any], raw: str) -> Any:
    """`raw` as the type of setting `f` (int, float, bool, optional or plain string)."""
    try:
        if f.type == "int":
            return int(raw)
        if f.type == "float":
            return float(raw)
    except ValueError as e:
        raise SettingsError(f"{f.name} must be a number, got {raw!r}") from e
    if f.type == "bool":
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
            raise SettingsError(f"{f.name} must be true or false, got {raw!r}")
        return raw.lower() in ("1", "true", "yes", "on")
    return raw or None if "None" in str(f.type) else raw


def parse_pairs(name: str, raw: str) -> dict[str, int]:
    """`K:N,K:N` as a dict of whole numbers."""
    try:
        pairs = (item.split(":") for item in raw.split(",") if item.strip())
        return {k.strip(): int(v) for k, v in pairs}
    except ValueError as e:
        raise SettingsError(f"{name} must look like K:N,K:N, got {raw!r}") from e


def parse_priority_seconds(name: str, raw: str) -> dict[int, int]:
    """`1:60,2:300,3:600` as seconds per priority."""
    pairs = parse_pairs(name, raw)
    try:
        return {int(k): v for k, v in pairs.items()}
    except ValueError as e:
        raise SettingsError(f"{name} keys must be priorities 1, 2, 3") from e


def parse_roles(name: str, raw: str) -> frozenset[Role]:
    """A comma-separated list of roles."""
    try:
        return frozenset(Role(r.strip()) for r in raw.split(",") if r.strip())
    except ValueError as e:
        roles = ", ".join(r.value for r in Role)
        raise SettingsError(f"{name} must be roles from {roles}, got {raw!r}") from e


def parse_sentinels(raw: str | None) -> list[tuple[str, int]]:
    """`host:port,host:port` as (host, port) pairs; empty without Sentinel."""
    pairs = []
    for item in (raw or "").split(","):
        host, _, port = item.strip().rpartition(":")
        if not item.strip():
            continue
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"redis_sentinels must look like host:port,host:port, got {item!r}")
        pairs.append((host, int(port)))
    return pairs


def parse_ice_servers(raw: str) -> list[dict[str, Any]]:
    """A JSON list of RTCIceServer objects, each with its `urls`."""
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SettingsError(f"ice_servers is not valid JSON: {e}") from e
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and "urls" in s for s in servers
    ):
        raise SettingsError("ice_servers must be a JSON list of objects with 'urls'")
    return servers


def parse_networks(raw: str | None) -> tuple[Network, ...]:
    """Comma-separated CIDRs (or single addresses) as networks; ValueError naming a bad one."""
    networks = []
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        try:
            networks.append(ip_network(item.strip(), strict=True))
        except ValueError as e:
            raise ValueError(f"not a CIDR or address: {item.strip()!r} ({e})") from e
    return tuple(networks)


def webhook(name: str, url: str, secret: str | None) -> Webhook:
    """A webhook checked at start-up: http(s), and signed with a secret of 32+ bytes."""
    if not url.startswith(("https://", "http://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {url!r}")
    if not secret:
        raise SettingsError(f"{name} needs a secret: unsigned deliveries are refused")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(f"{name}: the secret must be at least {MIN_SECRET_BYTES} bytes")
    return Webhook(url=url, secret=secret)


def parse_team_webhooks(raw: str) -> dict[str, Webhook]:
    """`{"service:board": {"url": ..., "secret": ...}}` as each team's checked webhook."""
    try:
        found = json.loads(raw or "{}")
    except json.JSONDecodeError as e:
        raise SettingsError(f"team_webhooks is not valid JSON: {e}") from e
    shape = 'team_webhooks must be a JSON object {"service:board": {"url": ..., "secret": ...}}'
    if not isinstance(found, dict):
        raise SettingsError(shape)
    hooks = {}
    for team, target in found.items():
        if ":" not in team or not isinstance(target, dict):
            raise SettingsError(f"{shape}, got {team!r}")
        url, secret = target.get("url"), target.get("secret")
        if not isinstance(url, str) or not isinstance(secret, str | None):
            raise SettingsError(f"{shape}, got {team!r}")
        hooks[team] = webhook(f"team_webhooks[{team!r}]", url, secret)
    return hooks
