"""Service settings: one frozen object, parsed and validated once at start-up."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from triage_service.domain.areas import (
    AreaDirectory,
    AreaFileError,
    check_timezone,
    default_directory,
    parse_directory,
)
from triage_service.domain.codes import Role
from triage_service.domain.providers import Provider, ProviderFileError, parse_providers
from triage_service.rtc.turn import parse_turn_urls
from triage_service.settings_values import (
    MIN_SECRET_BYTES,
    Network,
    add_flags,
    convert,
    env_name,
    parse_ice_servers,
    parse_networks,
    parse_pairs,
    parse_priority_seconds,
    parse_roles,
    parse_sentinels,
    parse_team_webhooks,
    webhook,
)
from triage_service.settings_values import SettingsError as SettingsError
from triage_service.settings_values import Webhook as Webhook

# Numeric settings for which 0 is meaningful (off, none); every other one must be positive.
MAY_BE_ZERO = frozenset({"retention_days", "audit_retention_days", "redis_min_replicas", "drain_s"})
LOG_FORMATS = ("json", "text")


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
    secret_key: str | None = _opt(
        None, "key (32+ bytes) for hashing client addresses; same on every instance"
    )
    person_key: str | None = _opt(
        None,
        "key (32+ bytes) of the person keys linking a person's requests (HMAC-SHA256 of the"
        " CHI number, else of name and date of birth); unset: no linking; same on every instance",
    )
    trusted_proxies: str | None = _opt(
        None, "CIDRs of proxies whose X-Forwarded-For is believed, e.g. 10.0.0.0/8,::1"
    )
    public_origin: str | None = _opt(None, "origin browsers use, e.g. https://triage.example")
    tls_cert: str | None = _opt(None, "TLS certificate file (PEM)")
    tls_key: str | None = _opt(None, "TLS private key file (PEM)")
    self_signed: bool = _opt(False, "serve HTTPS with a throwaway self-signed certificate")
    demo_accounts: bool = _opt(False, "create demo accounts on an empty store and print them")
    session_idle_s: int = _opt(1800, "sign-in session idle timeout (seconds)")
    session_absolute_s: int = _opt(43200, "sign-in session absolute lifetime (seconds)")
    ws_session_check_s: float = _opt(30.0, "how often an open socket re-checks its session (s)")
    ws_max_per_user: int = _opt(10, "live sockets one user may hold open on one instance")
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
    alert_webhook_secret: str | None = _opt(
        None, "HMAC-SHA256 key (32+ bytes) of X-Triage-Signature; needed with the URL"
    )
    alert_repeat_s: int = _opt(300, "a critical alarm is sent again this often until acknowledged")
    team_webhooks: str = _opt(
        "{}",
        'JSON {"service:board": {"url": "https://...", "secret": "32+ bytes"}}: new referrals '
        "are POSTed to their team, signed with its own secret",
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
    oidc_file: str | None = _opt(
        None, "TOML file of OpenID Connect providers staff sign in through (docs/identity.md)"
    )
    local_login_roles: str = _opt(
        "all", "roles that may sign in with a password or passkey here: R1,R2, all, or empty"
    )
    mfa_required_roles: str = _opt(
        "auto",
        "roles whose password sign-in needs a second factor: R1,R2 or empty for none "
        "(auto: admin,supervisor; none with --demo-accounts)",
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
        try:
            check_timezone(self.timezone)
        except ValueError as e:
            raise SettingsError(f"timezone: {e}") from e
        self._check_alerts()
        self._check_secrets()
        self._check_values()

    def _check_values(self) -> None:
        """Parse every structured setting (each cached property, in the order declared) now,
        once, so a bad one fails at start-up; later reads answer the parsed value."""
        for name, value in vars(Settings).items():
            if isinstance(value, cached_property):
                getattr(self, name)

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
        """The escalation settings: signed http(s) webhooks, smtp:// server with somewhere to
        send."""
        if self.smtp_url and not self.smtp_url.startswith("smtp://"):
            raise SettingsError(f"smtp_url must look like smtp://host:port, got {self.smtp_url!r}")
        if self.smtp_url and not self.alert_email_to:
            raise SettingsError("smtp_url needs alert_email_to (where alarm e-mails go)")

    def _check_secrets(self) -> None:
        """A key that hashes or signs is at least MIN_SECRET_BYTES long."""
        for name in ("secret_key", "person_key"):
            value = getattr(self, name)
            if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
                raise SettingsError(
                    f"{name} must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand "
                    f"-hex 32`), got {len(value.encode())}"
                )

    @property
    def linking(self) -> bytes | None:
        """The key of the person keys when linking a person's requests is on, else None."""
        return self.person_key.encode() if self.person_key else None

    def _check_redis(self) -> None:
        if self.redis_url and self.redis_sentinels:
            raise SettingsError("give redis_url or redis_sentinels, not both")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(
                f"redis_url must start with redis://, rediss:// or unix://, got {self.redis_url!r}"
            )

    @cached_property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The Sentinel addresses as (host, port) pairs; empty without Sentinel."""
        return parse_sentinels(self.redis_sentinels)

    @property
    def uses_embedded_redis(self) -> bool:
        """Whether the service starts its own redis-server (no URL and no Sentinel given)."""
        return self.redis_url is None and not self.redis_sentinels

    @cached_property
    def ice_server_list(self) -> list[dict[str, Any]]:
        """The configured STUN/TURN servers as RTCIceServer dicts."""
        return parse_ice_servers(self.ice_servers)

    @cached_property
    def response_targets(self) -> dict[str, int]:
        """Face-to-face response target in hours for triage codes B to E."""
        targets = parse_pairs("response_targets_h", self.response_targets_h)
        if set(targets) != {"B", "C", "D", "E"}:
            raise SettingsError(
                "response_targets_h must give B, C, D and E, e.g. B:4,C:24,D:72,E:672"
            )
        return targets

    @cached_property
    def escalation_thresholds(self) -> dict[int, int]:
        """Seconds of waiting, per priority, after which supervisors are alarmed."""
        return parse_priority_seconds("escalate_after_s", self.escalate_after_s)

    @cached_property
    def fallback_thresholds(self) -> dict[int, int]:
        """Seconds of waiting, per priority, after which the officer is offered the phone."""
        return parse_priority_seconds("fallback_after_s", self.fallback_after_s)

    @cached_property
    def overflow_thresholds(self) -> dict[int, int]:
        """Seconds of waiting, per priority, after which a request is offered to every
        clinician, not only those covering its board."""
        return parse_priority_seconds("overflow_after_s", self.overflow_after_s)

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

    @cached_property
    def oidc_providers(self) -> dict[str, Provider]:
        """The OpenID Connect providers from `oidc_file` by id (none without a file)."""
        if not self.oidc_file:
            return {}
        try:
            text = Path(self.oidc_file).read_text(encoding="utf-8")
            return parse_providers(text, board_ids=self.areas.board_ids)
        except (OSError, UnicodeDecodeError) as e:
            raise SettingsError(f"oidc_file {self.oidc_file}: cannot read it ({e})") from e
        except ProviderFileError as e:
            raise SettingsError(f"oidc_file {self.oidc_file}: {e}") from e

    @cached_property
    def local_roles(self) -> frozenset[Role]:
        """The roles that may sign in with a local password or passkey."""
        if self.local_login_roles.strip() == "all":
            return frozenset(Role)
        return parse_roles("local_login_roles", self.local_login_roles)

    @cached_property
    def mfa_roles(self) -> frozenset[Role]:
        """The roles whose password sign-in needs a second factor (TOTP or a passkey)."""
        if self.mfa_required_roles.strip() == "auto":
            return frozenset() if self.demo_accounts else frozenset({Role.ADMIN, Role.SUPERVISOR})
        return parse_roles("mfa_required_roles", self.mfa_required_roles)

    @cached_property
    def alert_webhook(self) -> Webhook | None:
        """The alarm webhook and its secret; None when no URL is set."""
        if not self.alert_webhook_url:
            return None
        return webhook("alert_webhook_url", self.alert_webhook_url, self.alert_webhook_secret)

    @cached_property
    def team_webhooks_by_team(self) -> dict[str, Webhook]:
        """Receiving team (`service:board`) -> the webhook its new referrals go to, each with
        its own secret."""
        return parse_team_webhooks(self.team_webhooks)

    @cached_property
    def team_webhook_urls(self) -> dict[str, str]:
        """Receiving team (`service:board`) -> the URL its new referrals are POSTed to."""
        return {team: hook.url for team, hook in self.team_webhooks_by_team.items()}

    @cached_property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        """The proxies whose X-Forwarded-For is believed; none unless configured."""
        try:
            return parse_networks(self.trusted_proxies)
        except ValueError as e:
            raise SettingsError(f"trusted_proxies: {e}") from e

    @property
    def loopback_only(self) -> bool:
        """Whether the service listens on a loopback address only (nobody else can reach it)."""
        if self.host == "localhost":
            return True
        try:
            return ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: whatever it resolves to

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
            raw = env.get(env_name(f))
            if raw is not None:
                values[f.name] = convert(f, raw)
        # No abbreviations: `user add --team X` must not be read as `--team-webhooks X`.
        parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
        flags = add_arguments(parser).parse_known_args(argv)[0]
        values.update({k: v for k, v in vars(flags).items() if v is not None})
        return cls(**values)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add one flag per setting to `parser` (defaults None: unset flags do not override)."""
    return add_flags(parser, dataclasses.fields(Settings))
