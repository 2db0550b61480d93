"""Receiving teams: referrals routed to the team of their service and board, each team seeing
only its own (with the handover, nothing else of the record), every status with its time,
illegal moves refused, declines alarmed, new referrals pushed live and to the team's webhook."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, ApiClient, SignInFactory, in_session
from triage_service.domain.codes import Role
from triage_service.domain.safety import signature
from triage_service.domain.teams import parse_team, request_board
from triage_service.service.accounts import add_user
from triage_service.web.state import STORE

SERVICES = ("crisis_team", "cmht")
BOARDS = ("lothian", "glasgow")
TEAM_SECRET = "the crisis team's own webhook secret, 32+ bytes"


def referral_to(service: str, **changes: Any) -> dict[str, Any]:
    """The standard outcome with a referral to `service` (and any other changes)."""
    return {
        **OUTCOME_FORM,
        "referral": {"service": service, "urgency": "C", "contact": f"Mob 07700 {service}"},
        **changes,
    }


async def refer(
    officer: ApiClient,
    clinician: ApiClient,
    service: str,
    *,
    board: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A request (in `board`, set on the record as an area directory would) assessed by
    `clinician` with a referral to `service`; the outcome answer."""
    request = await in_session(officer, clinician)
    if board is not None:
        store = cast(TestServer, officer.client.server).app[STORE]
        await store.client.hset(store.keys.request(request["id"]), "board", board)
    status, body = await clinician.post(
        f"/api/v1/requests/{request['id']}/outcome", referral_to(service, **changes)
    )
    assert status == 201, body
    return dict(body)


async def receiver(sign_in: SignInFactory, team: str) -> ApiClient:
    """A signed-in member of `team`."""
    return await sign_in("receiver", team=team)


async def inbox(client: ApiClient, scope: str = "open") -> list[dict[str, Any]]:
    """The referrals `client` lists."""
    status, body = await client.get(f"/api/v1/referrals?status={scope}")
    assert status == 200, body
    return list(body["referrals"])


def test_team_names_are_checked() -> None:
    """A team is a known referral service and a board of the area directory (checked where
    the directory is known: `user add --team`); anything else is refused."""
    assert parse_team("crisis_team:default") == "crisis_team:default"
    assert parse_team("cmht:lothian", boards={"lothian"}) == "cmht:lothian"
    for bad in ("crisis_team", "plumbers:default", "cmht:nowhere", ":default"):
        with pytest.raises(ValueError):
            parse_team(bad, boards={"default"})
    assert request_board(None) == "default" and request_board("lothian") == "lothian"


async def test_receiver_accounts_need_a_team(app: web.Application, server: TestServer) -> None:
    """`user add --role receiver` needs a valid team, and only receivers may have one."""
    store = app[STORE]
    made = await add_user(
        store,
        username="crisis1",
        role=Role.RECEIVER,
        password="a long enough password",
        team="crisis_team:default",
    )
    assert made.team == "crisis_team:default"
    for role, team in (
        (Role.RECEIVER, None),
        (Role.RECEIVER, "cmht:mars"),
        (Role.CLINICIAN, "x:y"),
    ):
        with pytest.raises(ValueError):
            await add_user(
                store, username="other", role=role, password="a long enough password", team=team
            )


async def test_referrals_go_to_their_team_and_only_that_team(sign_in: SignInFactory) -> None:
    """Two boards by two services: each team lists exactly its own referral, routed by the
    referral's service and the request's board, each with its handover and its area."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    made: dict[str, str] = {}
    for board in BOARDS:
        for service in SERVICES:
            done = await refer(officer, clinician, service, board=board)
            made[f"{service}:{board}"] = done["referral"]["id"]
            assert done["referral"]["team"] == f"{service}:{board}"
    default = (await refer(officer, clinician, "crisis_team"))["referral"]
    assert default["team"] == "crisis_team:default"
    for team, referral_id in made.items():
        listed = await inbox(await receiver(sign_in, team))
        assert [r["id"] for r in listed] == [referral_id], team
        [item] = listed
        assert item["team"] == team
        assert item["handover"]["summary"] == OUTCOME_FORM["summary"]
        assert item["handover"]["advice"] == OUTCOME_FORM["advice_to_officer"]
        assert item["handover"]["risk"] == OUTCOME_FORM["risk"]
        assert item["handover"]["contact"] == f"Mob 07700 {team.split(':')[0]}"
        assert item["handover"]["due_at"] == item["due_at"]
        # Where the person was, by the directory's name (not the officer's free text): the
        # team must find them.
        assert item["area"] == {"id": "default", "name": "Default area"}
    assert [r["id"] for r in await inbox(await receiver(sign_in, "dbi:default"))] == []


async def test_receivers_cannot_read_the_record_or_other_teams(sign_in: SignInFactory) -> None:
    """A receiver gets 403 for the request record and 404 for another team's referral or
    handover; their own team's handover is theirs."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    ours = (await refer(officer, clinician, "crisis_team"))["referral"]
    theirs = (await refer(officer, clinician, "cmht"))["referral"]
    crisis = await receiver(sign_in, "crisis_team:default")
    assert (await crisis.get(f"/api/v1/requests/{ours['request_id']}"))[0] == 403
    assert (await crisis.get(f"/api/v1/requests/{ours['request_id']}/messages"))[0] == 403
    assert (await crisis.get("/api/v1/queue"))[0] == 403
    status, body = await crisis.call(
        "PATCH", f"/api/v1/referrals/{theirs['id']}", {"status": "accepted"}
    )
    assert status == 404, body
    assert (await crisis.get(f"/api/v1/requests/{theirs['request_id']}/handover"))[0] == 404
    async with crisis.client.get(f"/api/v1/requests/{ours['request_id']}/handover") as r:
        assert r.status == 200 and r.content_type == "text/html"
        assert OUTCOME_FORM["summary"] in await r.text()


async def test_every_transition_keeps_its_time(sign_in: SignInFactory) -> None:
    """pending → accepted → completed, pending → declined (with its reason) and accepted →
    did_not_attend each stamp their own time; the referring clinician sees them."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    team = await receiver(sign_in, "crisis_team:default")
    first, second, third = [
        (await refer(officer, clinician, "crisis_team"))["referral"]["id"] for _ in range(3)
    ]

    async def move(rid: str, status: str, note: str | None = None) -> dict[str, Any]:
        body = {"status": status, **({"note": note} if note else {})}
        code, answer = await team.call("PATCH", f"/api/v1/referrals/{rid}", body)
        assert code == 200, answer
        assert answer["status"] == status and answer[f"{status}_at"], answer
        assert answer["handover"] is not None
        return dict(answer)

    accepted = await move(first, "accepted")
    completed = await move(first, "completed", "Seen at home, plan agreed")
    assert completed["accepted_at"] == accepted["accepted_at"]
    assert completed["completed_at"] >= completed["accepted_at"]
    declined = await move(second, "declined", "Not in our catchment: refer to CMHT")
    assert declined["decline_reason"] == "Not in our catchment: refer to CMHT"
    await move(third, "accepted")
    await move(third, "did_not_attend")
    _, mine = await clinician.get("/api/v1/referrals?status=all&mine=true")
    by_id = {r["id"]: r for r in mine["referrals"]}
    assert by_id[first]["completed_at"] == completed["completed_at"]
    assert by_id[second]["status"] == "declined" and by_id[second]["declined_at"]
    assert by_id[third]["did_not_attend_at"]
    assert await inbox(team) == []
    assert len(await inbox(team, "all")) == 3


async def test_illegal_transitions_are_409(sign_in: SignInFactory) -> None:
    """Receivers may not complete what they have not accepted, nor move a closed referral;
    a decline needs a reason (422) and receivers may not cancel (422)."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    team = await receiver(sign_in, "crisis_team:default")
    rid = (await refer(officer, clinician, "crisis_team"))["referral"]["id"]
    path = f"/api/v1/referrals/{rid}"
    for status in ("completed", "did_not_attend"):
        code, body = await team.call("PATCH", path, {"status": status})
        assert code == 409 and body["error"]["code"] == "illegal_transition", body
    code, body = await team.call("PATCH", path, {"status": "declined"})
    assert code == 422 and "note" in body["error"]["fields"], body
    code, body = await team.call("PATCH", path, {"status": "cancelled"})
    assert code == 422 and "status" in body["error"]["fields"], body
    assert (await team.call("PATCH", path, {"status": "accepted"}))[0] == 200
    code, body = await team.call("PATCH", path, {"status": "accepted"})
    assert code == 409 and body["error"]["code"] == "illegal_transition"
    code, body = await team.call("PATCH", path, {"status": "declined", "note": "too late"})
    assert code == 409 and body["error"]["code"] == "illegal_transition"
    assert (await team.call("PATCH", path, {"status": "completed"}))[0] == 200
    for status in ("accepted", "completed", "did_not_attend"):
        code, body = await team.call("PATCH", path, {"status": status})
        assert code == 409 and body["error"]["code"] == "referral_closed", body
    code, body = await clinician.call("PATCH", path, {"status": "declined", "note": "x"})
    assert code == 422, body


async def test_only_one_member_accepts(sign_in: SignInFactory) -> None:
    """Two members of the team accept at once: exactly one wins, the other gets 409."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    rid = (await refer(officer, clinician, "crisis_team"))["referral"]["id"]
    a, b = [await receiver(sign_in, "crisis_team:default") for _ in range(2)]
    results = await asyncio.gather(
        *(m.call("PATCH", f"/api/v1/referrals/{rid}", {"status": "accepted"}) for m in (a, b))
    )
    assert sorted(status for status, _ in results) == [200, 409]


async def test_a_decline_alarms_the_triage_team(sign_in: SignInFactory) -> None:
    """A declined referral raises one `referral_declined` alarm, urgent ones critical."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    supervisor = await sign_in("supervisor")
    team = await receiver(sign_in, "crisis_team:default")
    rid = (await refer(officer, clinician, "crisis_team"))["referral"]["id"]
    code, _ = await team.call(
        "PATCH", f"/api/v1/referrals/{rid}", {"status": "declined", "note": "No capacity"}
    )
    assert code == 200
    _, alarms = await supervisor.get("/api/v1/alarms?status=open")
    [alarm] = [a for a in alarms["alarms"] if a["kind"] == "referral_declined"]
    assert alarm["referral_id"] == rid and alarm["level"] == "warning"
    assert "No capacity" not in alarm["message"]  # the reason is free text: not in alarms


async def test_a_new_referral_is_pushed_to_its_team_only(sign_in: SignInFactory) -> None:
    """The team's sockets get a `referral` message with the handover; another team's do not;
    the referring clinician hears of the team's acceptance."""
    officer, clinician = await sign_in("officer"), await sign_in("clinician")
    crisis = await receiver(sign_in, "crisis_team:default")
    cmht = await receiver(sign_in, "cmht:default")
    for client in (crisis, cmht, clinician):
        await client.open_live()
    rid = (await refer(officer, clinician, "crisis_team"))["referral"]["id"]
    told = (await crisis.next_event("referral"))["referral"]
    assert told["id"] == rid and told["handover"]["summary"] == OUTCOME_FORM["summary"]
    await crisis.call("PATCH", f"/api/v1/referrals/{rid}", {"status": "accepted"})
    while (heard := (await clinician.next_event("referral"))["referral"])["status"] != "accepted":
        pass
    assert heard["id"] == rid and heard["handover"] is None
    with pytest.raises(TimeoutError):
        await cmht.next_event("referral", timeout=0.5)


@pytest.fixture
async def team_hook() -> Any:
    """A webhook receiver on a free port; its `received` list holds (headers, body)."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app)
    await server.start_server()
    yield server, received
    await server.close()


async def test_a_new_referral_is_posted_to_its_teams_webhook_once(
    team_hook: Any, key_prefix: str
) -> None:
    """With TRIAGE_TEAM_WEBHOOKS, a new referral is POSTed once, signed, with its codes and
    due time and no names or clinical free text; another team's referral is not."""
    from conftest import deployment

    server, received = team_hook
    url = str(server.make_url("/hook"))
    hooks = json.dumps({"crisis_team:default": {"url": url, "secret": TEAM_SECRET}})
    async with deployment(team_webhooks=hooks) as running:
        officer, clinician = await running.sign_in("officer"), await running.sign_in("clinician")
        rid = (await refer(officer, clinician, "crisis_team"))["referral"]["id"]
        await refer(officer, clinician, "cmht")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # several more ticks of the escalation loop: still once
    [(headers, body)] = received
    stamp = int(headers["X-Triage-Timestamp"])
    assert headers["X-Triage-Signature"] == signature(body, TEAM_SECRET, stamp)
    sent = json.loads(body)["referral"]
    assert sent["id"] == rid and sent["team"] == "crisis_team:default"
    assert "contact" not in sent and "handover" not in sent
    assert OUTCOME_FORM["summary"].encode() not in body
