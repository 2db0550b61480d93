"""Service settings: one frozen object, parsed and validated once at start-up."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from triage_service.domain.areas import (
    AreaDirectory,
    AreaFileError,
    check_timezone,
    default_directory,
    parse_directory,
)
from triage_service.rtc.turn import parse_turn_urls

ENV_PREFIX = "TRIAGE_"
# Numeric settings for which 0 is meaningful (off, none); every other one must be positive.
MAY_BE_ZERO = frozenset({"retention_days", "audit_retention_days", "redis_min_replicas", "drain_s"})
LOG_FORMATS = ("json", "text")


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every tunable of the service; each is a `--flag` and a `TRIAGE_*` variable."""

    host: str = _opt("127.0.0.1", "address to listen on")
    port: int = _opt(8080, "port to listen on")
    redis_url: str | None = _opt(None, "redis:// rediss:// or unix:// URL; unset: embedded")
    redis_sentinels: str | None = _opt(
        None, "Redis Sentinel addresses host:port,host:port (instead of redis_url)"
    )
    redis_service: str = _opt("triage", "the Sentinel service (master group) name")
    redis_min_replicas: int = _opt(
        0, "replicas that must have each state change before it is acknowledged (WAIT)"
    )
    redis_wait_ms: int = _opt(1000, "how long a state change waits for those replicas (ms)")
    data_dir: str = _opt("./var", "where the embedded Redis keeps its data")
    key_prefix: str = _opt("triage:", "prefix of every Redis key")
    secret_key: str | None = _opt(None, "key for hashing client addresses; same on every instance")
    public_origin: str | None = _opt(None, "origin browsers use, e.g. https://triage.example")
    tls_cert: str | None = _opt(None, "TLS certificate file (PEM)")
    tls_key: str | None = _opt(None, "TLS private key file (PEM)")
    self_signed: bool = _opt(False, "serve HTTPS with a throwaway self-signed certificate")
    demo_accounts: bool = _opt(False, "create demo accounts on an empty store and print them")
    session_idle_s: int = _opt(1800, "sign-in session idle timeout (seconds)")
    session_absolute_s: int = _opt(43200, "sign-in session absolute lifetime (seconds)")
    ws_session_check_s: float = _opt(30.0, "how often an open socket re-checks its session (s)")
    login_max_failures: int = _opt(5, "failed sign-ins per account+address before delays start")
    login_account_failures: int = _opt(100, "failed sign-ins per account before delays start")
    login_address_failures: int = _opt(300, "failed sign-ins per address per window before 429")
    login_max_delay_s: int = _opt(900, "longest delay between failed sign-ins (seconds)")
    login_window_s: int = _opt(900, "failed sign-ins are forgotten after this long (seconds)")
    header_timeout_s: float = _opt(15.0, "a connection's request head must arrive within (s)")
    body_timeout_s: float = _opt(10.0, "a request body must arrive within this long (s)")
    requests_per_minute: int = _opt(10, "requests one officer may create per minute")
    messages_per_minute: int = _opt(60, "chat messages one user may send per minute")
    max_body_bytes: int = _opt(65536, "largest request body accepted (bytes)")
    max_wait_s: int = _opt(900, "a request still waiting after this long expires (seconds)")
    escalate_after_s: str = _opt("1:60,2:300,3:600", "per priority: wait that alarms supervisors")
    fallback_after_s: str = _opt(
        "1:60,2:300,3:600", "per priority: wait after which the officer is offered the phone line"
    )
    alert_webhook_url: str | None = _opt(None, "critical alarms are POSTed here (JSON, signed)")
    alert_webhook_secret: str | None = _opt(None, "HMAC-SHA256 key of X-Triage-Signature")
    alert_repeat_s: int = _opt(300, "a critical alarm is sent again this often until acknowledged")
    team_webhooks: str = _opt(
        "{}",
        'JSON {"service:board": "https://..."}: new referrals are POSTed to their team (signed)',
    )
    smtp_url: str | None = _opt(None, "smtp://host:port to e-mail critical alarms (optional)")
    alert_email_to: str | None = _opt(None, "comma-separated addresses for alarm e-mails")
    alert_email_from: str = _opt("triage-service@localhost", "sender of alarm e-mails")
    clinician_grace_s: int = _opt(60, "session kept this long after a clinician disconnects")
    presence_lease_s: int = _opt(
        15, "a clinician socket's presence lease lasts this long unless its instance renews it"
    )
    ws_heartbeat_s: float = _opt(
        5.0, "live-channel ping interval; a silent socket closes after 1.5x"
    )
    response_targets_h: str = _opt("B:4,C:24,D:72,E:672", "face-to-face targets per triage code")
    mwc_notice_days: int = _opt(14, "days to notify the Mental Welfare Commission (s298)")
    service_level_s: int = _opt(600, "service-level threshold for time to answer (seconds)")
    short_abandon_s: int = _opt(30, "cancellations sooner than this are not counted as abandoned")
    phone_fallback: str = _opt("0800 000 0000", "number shown to an officer when nobody answers")
    areas_file: str | None = _opt(None, "TOML file of health boards and their areas (see docs)")
    timezone: str = _opt("Europe/London", "local time zone of statistics (boards may differ)")
    overflow_after_s: str = _opt(
        "1:30,2:120,3:300", "per priority: wait after which a request is offered to every board"
    )
    ice_servers: str = _opt("[]", "JSON list of RTCIceServer objects")
    turn_secret: str | None = _opt(None, "coturn use-auth-secret shared secret")
    turn_urls: str | None = _opt(None, "comma-separated turn: URLs for minted credentials")
    turn_ttl_s: int = _opt(3600, "lifetime of minted TURN credentials (seconds, max 3600)")
    connection_test_s: int = _opt(20, "longest pre-call connection test (seconds)")
    connection_test_max: int = _opt(8, "concurrent pre-call connection tests")
    retention_days: int = _opt(0, "purge identifying fields after this many days (0: never)")
    audit_retention_days: int = _opt(0, "drop access-log entries after this many days (0: never)")
    metrics_token: str | None = _opt(None, "if set, /metrics needs 'Authorization: Bearer …'")
    sweep_interval_s: float = _opt(1.0, "how often each instance sweeps due timers (seconds)")
    store_deadline_s: float = _opt(5.0, "a request Redis has not answered by then gets a 503")
    access_log: bool = _opt(True, "log one line per request (no query strings or personal data)")
    log_format: str = _opt("json", "log lines as JSON objects (json) or plain text (text)")
    drain_s: float = _opt(
        5.0, "on SIGTERM, /readyz answers 503 this long before the instance stops accepting"
    )
    shutdown_timeout_s: float = _opt(
        30.0, "on stopping, how long requests in flight may take to finish (seconds)"
    )
    fhir_base_url: str = _opt(
        "https://triage-service.example/fhir",
        "base URL of the FHIR export's own code systems and identifiers",
    )

    def __post_init__(self) -> None:
        self._check_numbers()
        if not 0 < self.port < 65536:
            raise SettingsError(f"port must be 1..65535, got {self.port}")
        if self.turn_ttl_s > 3600:
            raise SettingsError("turn_ttl_s must be at most 3600 (one hour)")
        self._check_redis()
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"log_format must be json or text, got {self.log_format!r}")
        try:
            parse_turn_urls(self.turn_urls)
        except ValueError as e:
            raise SettingsError(f"turn_urls: {e}") from e
        if not self.fhir_base_url.startswith(("https://", "http://")):
            raise SettingsError(f"fhir_base_url must be an http(s) URL, got {self.fhir_base_url!r}")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise SettingsError("tls_cert and tls_key must be given together")
        self.ice_server_list  # noqa: B018 - parse now so bad JSON fails at start-up
        self.response_targets  # noqa: B018
        self.escalation_thresholds  # noqa: B018
        self.fallback_thresholds  # noqa: B018
        self.overflow_thresholds  # noqa: B018
        try:
            check_timezone(self.timezone)
        except ValueError as e:
            raise SettingsError(f"timezone: {e}") from e
        self.areas  # noqa: B018
        self._check_alerts()

    def _check_numbers(self) -> None:
        """Every number positive, but those for which 0 means off or none."""
        for f in dataclasses.fields(self):
            if f.type not in ("int", "float"):
                continue
            value = getattr(self, f.name)
            if f.name in MAY_BE_ZERO and value < 0:
                raise SettingsError(f"{f.name} must be 0 or more, got {value}")
            if f.name not in MAY_BE_ZERO and value <= 0:
                raise SettingsError(f"{f.name} must be greater than 0, got {value}")

    def _check_alerts(self) -> None:
        """The escalation settings: http(s) webhook, smtp:// server with somewhere to send."""

        if self.alert_webhook_url and not self.alert_webhook_url.startswith(
            ("https://", "http://")
        ):
            raise SettingsError(
                f"alert_webhook_url must be an http(s) URL, got {self.alert_webhook_url!r}"
            )
        self.team_webhook_urls  # noqa: B018 - parse now so bad JSON fails at start-up
        if self.smtp_url and not self.smtp_url.startswith("smtp://"):
            raise SettingsError(f"smtp_url must look like smtp://host:port, got {self.smtp_url!r}")
        if self.smtp_url and not self.alert_email_to:
            raise SettingsError("smtp_url needs alert_email_to (where alarm e-mails go)")

    def _check_redis(self) -> None:
        if self.redis_url and self.redis_sentinels:
            raise SettingsError("give redis_url or redis_sentinels, not both")
        self.sentinel_addresses  # noqa: B018 - parse now so a bad list fails at start-up
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(
                f"redis_url must start with redis://, rediss:// or unix://, got {self.redis_url!r}"
            )

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The Sentinel addresses as (host, port) pairs; empty without Sentinel."""
        pairs = []
        for item in (self.redis_sentinels or "").split(","):
            host, _, port = item.strip().rpartition(":")
            if not item.strip():
                continue
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise SettingsError(
                    f"redis_sentinels must look like host:port,host:port, got {item!r}"
                )
            pairs.append((host, int(port)))
        return pairs

    @property
    def uses_embedded_redis(self) -> bool:
        """Whether the service starts its own redis-server (no URL and no Sentinel given)."""
        return self.redis_url is None and not self.redis_sentinels

    @property
    def ice_server_list(self) -> list[dict[str, Any]]:
        """The configured STUN/TURN servers as RTCIceServer dicts."""
        try:
            servers = json.loads(self.ice_servers)
        except json.JSONDecodeError as e:
            raise SettingsError(f"ice_servers is not valid JSON: {e}") from e
        if not isinstance(servers, list) or not all(
            isinstance(s, dict) and "urls" in s for s in servers
        ):
            raise SettingsError("ice_servers must be a JSON list of objects with 'urls'")
        return servers

    @property
    def response_targets(self) -> dict[str, int]:
        """Face-to-face response target in hours for triage codes B to E."""
        targets = _parse_pairs("response_targets_h", self.response_targets_h)
        if set(targets) != {"B", "C", "D", "E"}:
            raise SettingsError(
                "response_targets_h must give B, C, D and E, e.g. B:4,C:24,D:72,E:672"
            )
        return targets

    @property
    def escalation_thresholds(self) -> dict[int, int]:
        """Seconds of waiting, per priority, after which supervisors are alarmed."""
        pairs = _parse_pairs("escalate_after_s", self.escalate_after_s)
        try:
            return {int(k): v for k, v in pairs.items()}
        except ValueError as e:
            raise SettingsError("escalate_after_s keys must be priorities 1, 2, 3") from e

    @property
    def fallback_thresholds(self) -> dict[int, int]:
        """Seconds of waiting, per priority, after which the officer is offered the phone."""
        pairs = _parse_pairs("fallback_after_s", self.fallback_after_s)
        try:
            return {int(k): v for k, v in pairs.items()}
        except ValueError as e:
            raise SettingsError("fallback_after_s keys must be priorities 1, 2, 3") from e

    @property
    def overflow_thresholds(self) -> dict[int, int]:
        """Seconds of waiting, per priority, after which a request is offered to every
        clinician, not only those covering its board."""
        pairs = _parse_pairs("overflow_after_s", self.overflow_after_s)
        try:
            return {int(k): v for k, v in pairs.items()}
        except ValueError as e:
            raise SettingsError("overflow_after_s keys must be priorities 1, 2, 3") from e

    @cached_property
    def areas(self) -> AreaDirectory:
        """The area directory from `areas_file`, or one default board and area."""
        if not self.areas_file:
            return default_directory(self.timezone, self.phone_fallback)
        try:
            text = Path(self.areas_file).read_text(encoding="utf-8")
            return parse_directory(text, default_timezone=self.timezone)
        except (OSError, UnicodeDecodeError) as e:
            raise SettingsError(f"areas_file {self.areas_file}: cannot read it ({e})") from e
        except AreaFileError as e:
            raise SettingsError(f"areas_file {self.areas_file}: {e}") from e

    @property
    def team_webhook_urls(self) -> dict[str, str]:
        """Receiving team (`service:board`) -> the http(s) URL its new referrals go to."""
        try:
            found = json.loads(self.team_webhooks or "{}")
        except json.JSONDecodeError as e:
            raise SettingsError(f"team_webhooks is not valid JSON: {e}") from e
        if not isinstance(found, dict) or not all(
            isinstance(k, str)
            and ":" in k
            and isinstance(v, str)
            and v.startswith(("https://", "http://"))
            for k, v in found.items()
        ):
            raise SettingsError(
                'team_webhooks must be a JSON object {"service:board": "https://..."}'
            )
        return found

    @property
    def tls(self) -> bool:
        """Whether the service is served over HTTPS."""
        return bool(self.tls_cert) or self.self_signed

    @property
    def data_path(self) -> Path:
        """The data directory as a path."""
        return Path(self.data_dir)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, argv: Sequence[str] = ()
    ) -> Settings:
        """Build settings from `TRIAGE_*` variables, overridden by command-line flags."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f, raw)
        # No abbreviations: `user add --team X` must not be read as `--team-webhooks X`.
        parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
        flags = add_arguments(parser).parse_known_args(argv)[0]
        values.update({k: v for k, v in vars(flags).items() if v is not None})
        return cls(**values)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add one flag per setting to `parser` (defaults None: unset flags do not override)."""
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} (env {ENV_PREFIX}{f.name.upper()}, default {f.default})"
        if f.type == "bool" and f.default:
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, action=action, default=None, help=help_text)
        elif f.type == "bool":
            parser.add_argument(
                flag, action="store_const", const=True, default=None, help=help_text
            )
        else:
            parser.add_argument(flag, type=_converter(f), default=None, help=help_text)
    return parser


def _converter(f: dataclasses.Field[Any]) -> Any:
    def convert(raw: str) -> Any:
        try:
            return _convert(f, raw)
        except SettingsError as e:
            raise argparse.ArgumentTypeError(str(e)) from e

    return convert


def _convert(f: dataclasses.Field[Any], raw: str) -> Any:
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


def _parse_pairs(name: str, raw: str) -> dict[str, int]:
    try:
        pairs = (item.split(":") for item in raw.split(",") if item.strip())
        return {k.strip(): int(v) for k, v in pairs}
    except ValueError as e:
        raise SettingsError(f"{name} must look like K:N,K:N, got {raw!r}") from e
