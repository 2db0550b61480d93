"""The access log: every read of a record, chat, referral or export and every sign-in event
is one entry with the contract's fields; only admins read it, in pages."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, ApiClient, SignInFactory, create_account, in_session
from triage_service.domain.codes import Role
from triage_service.service.accounts import add_user, set_disabled
from triage_service.service.audit import trim
from triage_service.web.state import STORE

FIELDS = {"id", "at", "user_id", "role", "action", "request_id", "reason"}


async def entries(admin: ApiClient, query: str = "") -> list[dict[str, Any]]:
    """Every entry matching `query`, following the cursor through the pages."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, body = await admin.get(f"/api/v1/audit?limit=2{query}{cursor}")
        assert status == 200, body
        found.extend(body["entries"])
        if body["next_cursor"] is None:
            return found
        cursor = f"&cursor={body['next_cursor']}"


async def test_each_read_is_one_entry_with_the_right_fields(sign_in: SignInFactory) -> None:
    """Reading a record, its chat, the referrals and an export each append exactly one entry
    naming the reader, their role, the request and the X-Access-Reason given."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    supervisor, admin = await sign_in("supervisor"), await sign_in("admin")
    record = await in_session(officer, clinician)
    rid = record["id"]
    reason = {"X-Access-Reason": "clinical review"}
    assert (await clinician.call("GET", f"/api/v1/requests/{rid}", headers=reason))[0] == 200
    assert (await clinician.call("GET", f"/api/v1/requests/{rid}/messages"))[0] == 200
    assert (await clinician.post(f"/api/v1/requests/{rid}/outcome", OUTCOME_FORM))[0] == 201
    assert (await clinician.get("/api/v1/referrals"))[0] == 200
    export = "/api/v1/stats/export.csv?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"
    assert (await supervisor.get(export))[0] == 200
    mine = await entries(admin, f"&user_id={clinician.user.id}")
    reads = [e for e in mine if e["action"] in ("record", "chat", "referral")]
    assert [e["action"] for e in reads] == ["record", "chat", "referral"]
    for entry in reads:
        assert set(entry) == FIELDS
        assert entry["role"] == "clinician" and entry["request_id"] == rid
        assert entry["at"].endswith("Z")
    assert reads[0]["reason"] == "clinical review" and reads[1]["reason"] is None
    [exported] = [
        e for e in await entries(admin, f"&user_id={supervisor.user.id}") if e["action"] == "export"
    ]
    assert exported["role"] == "supervisor" and exported["request_id"] is None
    by_request = await entries(admin, f"&request_id={rid}")
    assert {e["action"] for e in by_request} >= {"record", "chat", "referral"}


async def test_sign_in_events_are_logged(
    server: TestServer, anonymous: ApiClient, sign_in: SignInFactory
) -> None:
    """A failed sign-in names the targeted account (null for an unknown username); a
    sign-in and a sign-out are entries of their own."""
    admin = await sign_in("admin")
    user = await create_account(server.app, Role.OFFICER)
    await anonymous.post("/api/v1/login", {"username": user.username, "password": "wrong one"})
    await anonymous.post("/api/v1/login", {"username": "nobody-here", "password": "wrong one"})
    officer = await sign_in("officer")
    await officer.post("/api/v1/logout")
    found = await entries(admin)
    failed = [e for e in found if e["action"] == "login_failed"]
    assert [e["user_id"] for e in failed] == [user.id, None]
    mine = [e["action"] for e in found if e["user_id"] == officer.user.id]
    assert mine == ["login", "logout"]
    assert all(set(e) == FIELDS for e in found)


@pytest.mark.parametrize("role", ["officer", "clinician", "supervisor"])
async def test_only_admins_read_the_log(sign_in: SignInFactory, role: str) -> None:
    """Anyone but an admin gets 403 from GET /api/v1/audit."""
    user = await sign_in(role)
    status, body = await user.get("/api/v1/audit")
    assert status == 403 and body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=x",
        "cursor=abc",
        "from=yesterday",
        "cursor=99999999999999999999-0",  # past a 64-bit number: not an entry id
        "cursor=18446744073709551615-18446744073709551615",  # nothing can come after it
    ],
)
async def test_bad_audit_query_is_422(sign_in: SignInFactory, query: str) -> None:
    """Bad page sizes, cursors (not an entry id Redis could hold) or times are 422 naming
    the parameter, never a 500."""
    admin = await sign_in("admin")
    status, body = await admin.get(f"/api/v1/audit?{query}")
    assert status == 422 and query.split("=")[0] in body["error"]["fields"]


async def test_time_filter_and_retention_trim(
    sign_in: SignInFactory, server: TestServer, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    """from/to select entries by time; the audit retention drops entries older than it."""
    await redis_client.xadd(
        key_prefix + "audit",
        {"at": 1000, "user_id": "old", "role": "admin", "action": "record"},
        id="1000-0",
    )
    admin = await sign_in("admin")
    old = await entries(admin, "&to=1970-01-01T00:00:02Z")
    assert [e["user_id"] for e in old] == ["old"]
    assert await entries(admin, "&from=1970-01-01T00:00:02Z&user_id=old") == []
    assert await trim(server.app[STORE], retention_days=1, now_ms=86_400_000 + 2000) == 1
    assert await entries(admin, "&user_id=old") == []


@pytest.mark.settings(audit_retention_days=1)
async def test_sweeper_trims_the_audit_log(
    redis_client: aioredis.Redis, key_prefix: str, server: TestServer
) -> None:
    """With TRIAGE_AUDIT_RETENTION_DAYS set, the sweeper drops entries older than it."""
    await redis_client.xadd(key_prefix + "audit", {"action": "record"}, id="1000-0")
    async with asyncio.timeout(5):
        while await redis_client.xlen(key_prefix + "audit"):
            await asyncio.sleep(0.05)


async def test_writes_are_logged(sign_in: SignInFactory, server: TestServer) -> None:
    """Filing an outcome, changing a referral's status, acknowledging an alarm and changing
    an account each append an entry: who, in which role, on which request, and what
    (`referral_id`, `change`, `alarm_id`, `account_id`); a user's entries include the
    changes made to their account."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    supervisor, admin = await sign_in("supervisor"), await sign_in("admin")
    record = await in_session(officer, clinician)
    rid = record["id"]
    outcome = {**OUTCOME_FORM, "referral": {"service": "gp", "urgency": "C"}}
    status, filed = await clinician.post(f"/api/v1/requests/{rid}/outcome", outcome)
    assert status == 201, filed
    referral = filed["referral"]["id"]
    patch = {"status": "accepted"}
    assert (await clinician.call("PATCH", f"/api/v1/referrals/{referral}", patch))[0] == 200
    store = server.app[STORE]
    await store.alarms.raise_once(
        "referral_declined",
        referral,
        {
            "id": "alarm1",
            "kind": "referral_declined",
            "level": "warning",
            "request_id": rid,
            "referral_id": referral,
            "message": "declined",
            "raised_ms": 1,
        },
        deliver=[],
        now_ms=1,
    )
    assert (await supervisor.post("/api/v1/alarms/alarm1/ack", {"note": "seen"}))[0] == 200
    await add_user(store, username="new-one", role=Role.CLINICIAN, password="a long new password 1")
    await set_disabled(store, "new-one", True)
    writes = {
        e["action"]: e
        for e in await entries(admin, f"&request_id={rid}")
        if e["action"] in ("outcome_filed", "referral_updated", "alarm_acknowledged")
    }
    assert writes["outcome_filed"]["user_id"] == clinician.user.id
    assert writes["outcome_filed"]["referral_id"] == referral
    assert (writes["referral_updated"]["role"], writes["referral_updated"]["change"]) == (
        "clinician",
        "accepted",
    )
    assert writes["alarm_acknowledged"]["user_id"] == supervisor.user.id
    assert writes["alarm_acknowledged"]["alarm_id"] == "alarm1"
    new_id = await store.accounts.id_of("new-one")
    changed = [e for e in await entries(admin, f"&user_id={new_id}")]
    assert [(e["action"], e["change"], e["role"]) for e in changed] == [
        ("account_changed", "added", "console"),
        ("account_changed", "disabled", "console"),
    ]
