"""The one-call flow: the officer requests, the clinician accepts (and calls with a headless
peer), and files the outcome; shared by the tests, the benchmark and the simulation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from triage_client.client import ServiceClient

if TYPE_CHECKING:
    from triage_client.headless import HeadlessPeer


async def raise_request(officer: ServiceClient, form: dict[str, Any]) -> dict[str, Any]:
    """The officer sends `form`; return the created request."""
    return dict(await officer.request("POST", "/api/v1/requests", form))


async def accept(clinician: ServiceClient, request_id: str) -> dict[str, Any]:
    """The clinician accepts the request; return it, now in session."""
    return dict(await clinician.request("POST", f"/api/v1/requests/{request_id}/accept"))


async def file_outcome(
    clinician: ServiceClient, request_id: str, outcome: dict[str, Any]
) -> dict[str, Any]:
    """The clinician files `outcome` for the request; return the answer."""
    path = f"/api/v1/requests/{request_id}/outcome"
    return dict(await clinician.request("POST", path, outcome))


async def wait_in_session(client: ServiceClient, request_id: str) -> None:
    """Until `client`'s live channel says the request is in session."""
    while True:
        told = (await client.next_event("request.updated"))["request"]
        if told["id"] == request_id and told["status"] == "in_session":
            return


def call_peer(client: ServiceClient, mode: str) -> HeadlessPeer:
    """A headless aiortc peer on this client's session, sending the request's media."""
    from triage_client.headless import HeadlessPeer

    return HeadlessPeer(client, video=mode == "video", audio=True)


async def start_call(
    officer: HeadlessPeer, clinician: HeadlessPeer, form: dict[str, Any]
) -> tuple[str, float]:
    """Request, accept, call: the request id and the seconds from accept to both data
    channels open."""
    rid = (await raise_request(officer.client, form))["id"]
    accepted = time.perf_counter()
    await accept(clinician.client, rid)
    await clinician.call(rid)
    await wait_in_session(officer.client, rid)
    await officer.call(rid)
    for peer in (officer, clinician):
        await peer.data_channel_open()
    return rid, time.perf_counter() - accepted


async def end_call(
    officer: HeadlessPeer, clinician: HeadlessPeer, request_id: str, outcome: dict[str, Any]
) -> None:
    """Both hang up; then the clinician files the outcome."""
    for peer in (officer, clinician):
        await peer.hang_up()
    await file_outcome(clinician.client, request_id, outcome)


async def one_call(
    officer: HeadlessPeer,
    clinician: HeadlessPeer,
    *,
    form: dict[str, Any],
    outcome: dict[str, Any],
) -> float:
    """One whole call; the seconds from accept to both data channels open."""
    rid, setup_s = await start_call(officer, clinician, form)
    await end_call(officer, clinician, rid, outcome)
    return setup_s
