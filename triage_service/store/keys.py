"""Every Redis key name, in one class: nothing outside the store spells a key.

The names are spelt once, in `FIXED` and `PER_ID` below. Python reads them as attributes
(`keys.queue`) and methods (`keys.request(id)`); the Lua scripts read the same names from
the prelude `Keys.lua_prelude()` renders and the store prepends to every script
(`K.queue`, `K.request(id)`), so Python and Lua can never disagree on a key.
"""

from __future__ import annotations

# Keys without a part of their own: attribute name -> key name (after the prefix).
FIXED: dict[str, str] = {
    "queue": "queue",  # sorted set: waiting request ids by queue score
    "due": "due",  # sorted set: timers (`expire:{id}`, `grace:{clinician}`) by due time
    "active": "active",  # set: request ids in session
    "events": "events",  # stream: every lifecycle event
    "wake": "wake",  # pub/sub channel of the wake-ups (store/wakes.py)
    "audit": "audit",  # stream: the access log
    "users": "users",  # hash: lower-cased username -> user id
    "presence_users": "presence:users",  # sorted set: present clinicians by lease expiry
    # hash: `served_ms` (the store's own time of its last presence step), `lease_ms`
    "presence_clock": "presence:clock",
    "health": "health",  # string: written by the health probe
    "clin_state": "clin:state",  # hash: clinician id -> availability
    "clin_names": "clin:names",  # hash: clinician id -> display name
    "clin_before": "clin:before",  # hash: clinician id -> availability before accepting
    "referrals": "referrals",  # sorted set: referral ids by creation time
    "referrals_open": "referrals:open",  # sorted set: open referral ids by due time
    "referrals_mwc": "referrals:mwc",  # sorted set: open s298 notifications by due time
    # sorted set: open `{ref|mwc}:{due ms}:{id}` by their request's creation (before data
    # layout 3; `referrals_due` since)
    "referrals_open_created": "referrals:open:created",
    "recent_waits": "recent:waits",  # list: the last waits (ms) for the wait estimate
    "recent_sessions": "recent:sessions",  # list: the last session lengths (ms)
    "reqs_created": "reqs:created",  # sorted set: every request id by creation time
    "retention_cursor": "retention:cursor",  # string: creation time of the last purge
    "alarms_open": "alarms:open",  # sorted set: unacknowledged alarm ids by raise time
    "alarms_all": "alarms:all",  # sorted set: every alarm id by raise time
    "alarm_deliveries": "alarm:deliveries",  # sorted set: `{channel}:{alarm id}` by next try
    "stats_hours": "stats:hours",  # set: the hours holding statistics counters
    "schema": "schema",  # string: the version of the data layout (store/schema.py)
    "schema_lock": "schema:lock",  # string: held by the instance running the migrations
    "oidc_subjects": "oidc:subjects",  # hash: `{issuer} {subject}` -> user id
    "passkey_owners": "passkeys:owners",  # hash: passkey credential id -> user id
}

# Keys with parts: method name -> template, each `{}` filled by one argument in order.
PER_ID: dict[str, str] = {
    "request": "req:{}",  # hash: one request's record
    "messages": "msgs:{}",  # list: a request's chat, oldest first
    "referral": "referral:{}",  # hash: one referral or s298 notification
    "user": "user:{}",  # hash: one account
    "session": "sess:{}",  # string: a sign-in session (JSON)
    "officer_requests": "officer:{}:reqs",  # sorted set: an officer's requests by creation
    "leases": "presence:{}",  # sorted set: a clinician's socket leases by expiry
    "clinician_sessions": "clin:{}:sessions",  # set: a clinician's requests in session
    "idempotency": "idem:{}:{}",  # string: officer, idempotency key -> request id
    "login_failures_pair": "login_fail:pair:{}:{}",  # failures of an account from an address
    "login_failures_account": "login_fail:user:{}",  # failures of a (lower-cased) account
    "login_failures_address": "login_fail:addr:{}",  # failures from a (hashed) address
    "action_count": "rate:{}:{}:{}",  # counter: a user's actions of a kind in one minute
    "user_sessions": "user:{}:sessions",  # set: the sign-in session tokens of a user
    "alarm": "alarm:{}",  # hash: one alarm record
    "alarm_claim": "alarm:claim:{}:{}",  # string: the claim that raised an alarm (kind, subject)
    "stats": "stats:{}",  # the statistics counters and bins (lua/_counters.lua)
    "team_open": "teams:{}:open",  # sorted set: a receiving team's open referral ids by due time
    "team_referrals": "teams:{}:referrals",  # sorted set: a team's referral ids by creation
    "clinician_referrals": "clin:{}:referrals",  # sorted set: referrals a clinician made
    # sorted set: a board's part of `referrals:open:created` (before data layout 3)
    "board_referrals_open_created": "referrals:open:created:{}",
    # sorted set: the open referral ids of requests created in one piece of time, by due time;
    # `{ref|mwc}[@{board}]:{piece}`, the pieces named as the counters' (lua/_counters.lua)
    "referrals_due": "referrals:due:{}",
    "oidc_flow": "oidc:flow:{}",  # string (JSON, 10 min): a sign-in under way, by its state
    "oidc_session": "oidc:sess:{}",  # string (JSON): provider and ID token of a session
    "mfa": "mfa:{}",  # hash: a user's TOTP secret (pending or confirmed) and last time step
    "mfa_recovery": "mfa:{}:recovery",  # set: SHA-256 of a user's unused recovery codes
    "passkeys": "passkeys:{}",  # hash: a user's passkeys, credential id -> JSON
    "mfa_enrolment": "mfa:enrol:{}",  # string (10 min): enrolment token -> user id
    "webauthn_challenge": "webauthn:challenge:{}",  # string (JSON, 5 min): a ceremony
    # sorted set: the requests of one person key (a CHI's, or a name and birth date's), by
    # creation time (lua/create.lua links a new request to those of the last 24 months)
    "person": "person_key:{}",
    # sorted set: a request's earlier contacts, `{chi|name_dob|confirmed|rejected}:{id}` by
    # their creation time (lua/_common.lua `person_repeat`)
    "person_links": "req:{}:links",
    # hash: the people in a request's call beyond its officer and clinician (consultants,
    # guests): participant id -> JSON `{id, role, display_name, kind}`
    "call_people": "call:{}:people",
    # hash: everyone ever added to a request's call (the record names them): id -> JSON
    "call_history": "call:{}:history",
    "consult_offers": "consults:{}",  # set: requests a clinician is asked to join
    "guest": "guest:{}",  # hash: one guest link (request, name, role, expiry, state)
    "guest_token": "guest:token:{}",  # string (TTL): a link token's SHA-256 -> guest id
    "guest_session": "guest:sess:{}",  # string (TTL): a guest page's cookie SHA-256 -> id
}


class Keys:
    """Every Redis key name, under one prefix so deployments can share a server."""

    queue: str
    due: str
    active: str
    events: str
    wake: str
    audit: str
    users: str
    presence_users: str
    presence_clock: str
    health: str
    clin_state: str
    clin_names: str
    clin_before: str
    referrals: str
    referrals_open: str
    referrals_mwc: str
    referrals_open_created: str
    recent_waits: str
    recent_sessions: str
    reqs_created: str
    retention_cursor: str
    alarms_open: str
    alarms_all: str
    alarm_deliveries: str
    stats_hours: str
    schema: str
    schema_lock: str
    oidc_subjects: str
    passkey_owners: str

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        for attribute, name in FIXED.items():
            setattr(self, attribute, prefix + name)

    def __call__(self, name: str) -> str:
        """Any key by its name after the prefix (for tools and tests inspecting Redis)."""
        return self.prefix + name

    def _fill(self, method: str, *parts: str) -> str:
        return self.prefix + PER_ID[method].format(*parts)

    def request(self, request_id: str) -> str:
        """The hash of one request."""
        return self._fill("request", request_id)

    def messages(self, request_id: str) -> str:
        """The chat of one request."""
        return self._fill("messages", request_id)

    def referral(self, referral_id: str) -> str:
        """The hash of one referral or s298 notification."""
        return self._fill("referral", referral_id)

    def user(self, user_id: str) -> str:
        """The hash of one account."""
        return self._fill("user", user_id)

    def session(self, token: str) -> str:
        """One sign-in session."""
        return self._fill("session", token)

    def officer_requests(self, officer_id: str) -> str:
        """An officer's requests, by creation time."""
        return self._fill("officer_requests", officer_id)

    def leases(self, clinician_id: str) -> str:
        """The presence leases of a clinician's open sockets, scored by expiry."""
        return self._fill("leases", clinician_id)

    def clinician_sessions(self, clinician_id: str) -> str:
        """The requests a clinician has in session."""
        return self._fill("clinician_sessions", clinician_id)

    def idempotency(self, officer_id: str, idempotency_key: str) -> str:
        """The request an officer's idempotency key created."""
        return self._fill("idempotency", officer_id, idempotency_key)

    def login_failures_pair(self, account: str, address: str) -> str:
        """Failed sign-ins of an account from one (hashed) address."""
        return self._fill("login_failures_pair", account, address)

    def login_failures_account(self, account: str) -> str:
        """Failed sign-ins of a (lower-cased) account, from anywhere."""
        return self._fill("login_failures_account", account)

    def login_failures_address(self, address: str) -> str:
        """Failed sign-ins from a (hashed) address, for any account."""
        return self._fill("login_failures_address", address)

    def action_count(self, action: str, user_id: str, minute: int) -> str:
        """How many actions of a kind a user took in one minute (epoch minute)."""
        return self._fill("action_count", action, user_id, str(minute))

    def user_sessions(self, user_id: str) -> str:
        """The sign-in session tokens of a user."""
        return self._fill("user_sessions", user_id)

    def alarm(self, alarm_id: str) -> str:
        """The hash of one alarm."""
        return self._fill("alarm", alarm_id)

    def alarm_claim(self, kind: str, subject: str) -> str:
        """The key whose SET NX raises the alarm of `kind` about `subject` exactly once."""
        return self._fill("alarm_claim", kind, subject)

    def stats(self, name: str) -> str:
        """A statistics counter or bin (`stats:h:{hour}`, `stats:wait:16s:3`, ...)."""
        return self._fill("stats", name)

    def team_open(self, team: str) -> str:
        """A receiving team's open referrals, by due time."""
        return self._fill("team_open", team)

    def team_referrals(self, team: str) -> str:
        """Every referral routed to a team, by creation time."""
        return self._fill("team_referrals", team)

    def clinician_referrals(self, clinician_id: str) -> str:
        """The referrals a clinician made, by creation time."""
        return self._fill("clinician_referrals", clinician_id)

    def board_referrals_open_created(self, board: str) -> str:
        """The open referrals of one health board's requests, by the request's creation."""
        return self._fill("board_referrals_open_created", board)

    def referrals_due(self, kind_and_piece: str) -> str:
        """The open referrals (`ref`) or s298 notifications (`mwc`), of one board's requests
        (`@{board}`) or all, created in one piece of time (`{hour}`, `L{level}:{block}`,
        `S:{slice}`, `M:{minute}`), by due time."""
        return self._fill("referrals_due", kind_and_piece)

    def oidc_flow(self, state: str) -> str:
        """An OpenID Connect sign-in under way, by its `state`."""
        return self._fill("oidc_flow", state)

    def oidc_session(self, token: str) -> str:
        """The provider and ID token a sign-in session came from (for signing out there)."""
        return self._fill("oidc_session", token)

    def mfa(self, user_id: str) -> str:
        """A user's TOTP secret and the last time step used."""
        return self._fill("mfa", user_id)

    def mfa_recovery(self, user_id: str) -> str:
        """The hashes of a user's unused recovery codes."""
        return self._fill("mfa_recovery", user_id)

    def passkeys(self, user_id: str) -> str:
        """A user's registered passkeys."""
        return self._fill("passkeys", user_id)

    def mfa_enrolment(self, token: str) -> str:
        """The user a short-lived enrolment token lets enrol a second factor."""
        return self._fill("mfa_enrolment", token)

    def webauthn_challenge(self, ceremony_id: str) -> str:
        """A passkey registration or sign-in under way, with its challenge."""
        return self._fill("webauthn_challenge", ceremony_id)

    def person(self, key: str) -> str:
        """The requests of one person key, by creation time."""
        return self._fill("person", key)

    def person_links(self, request_id: str) -> str:
        """A request's earlier contacts and how each was matched, by their creation time."""
        return self._fill("person_links", request_id)

    def call_people(self, request_id: str) -> str:
        """The consultants and guests in a request's call now."""
        return self._fill("call_people", request_id)

    def call_history(self, request_id: str) -> str:
        """Everyone ever added to a request's call."""
        return self._fill("call_history", request_id)

    def consult_offers(self, clinician_id: str) -> str:
        """The requests a clinician has been asked to join as a consultant."""
        return self._fill("consult_offers", clinician_id)

    def guest(self, guest_id: str) -> str:
        """One guest link."""
        return self._fill("guest", guest_id)

    def guest_token(self, token_hash: str) -> str:
        """The guest a link token (by its hash) admits, until used, revoked or expired."""
        return self._fill("guest_token", token_hash)

    def guest_session(self, cookie_hash: str) -> str:
        """The guest a guest page's cookie (by its hash) belongs to."""
        return self._fill("guest_session", cookie_hash)

    @staticmethod
    def lua_prelude() -> str:
        """The Lua that defines `P` (the prefix, ARGV[1]) and the key table `K` with the same
        names as this class, prepended to every script."""
        lines = ["-- Key names, rendered from store/keys.py.", "local P = ARGV[1]", "local K = {}"]
        lines += [f"K.{attribute} = P .. '{name}'" for attribute, name in FIXED.items()]
        for method, template in PER_ID.items():
            pieces = template.split("{}")
            params = [f"a{i}" for i in range(1, len(pieces))]
            body = " .. ".join(
                ["P"]
                + [
                    part
                    for i, piece in enumerate(pieces)
                    for part in ([f"'{piece}'"] if piece else []) + params[i : i + 1]
                ]
            )
            lines.append(f"function K.{method}({', '.join(params)}) return {body} end")
        return "\n".join(lines) + "\n"
