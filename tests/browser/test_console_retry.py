"""The console when an accept succeeds but its answer is lost: it retries with the same
Idempotency-Key and lands in the session it got, taking no second request."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Route

from conftest import SignInFactory, new_request
from triage_service.settings import Settings
from triage_service.web.app import create_app
from triage_service.web.errors import Handler

from .conftest import PageFactory

TAKING = re.compile(r"^/api/v1/(requests/[^/]+/accept|queue/next)$")


@dataclass
class LostAnswers:
    """A test-only middleware that lets the first successful accept (or take next) happen and
    answers it 503, as when replicas did not confirm in time; it counts what it saw."""

    to_lose: int = 1
    lost: int = 0
    keys: list[str | None] = field(default_factory=list)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Pass the request on; swallow the first successful answer to a take."""
        response = await handler(request)
        if request.method == "POST" and TAKING.match(request.path):
            self.keys.append(request.headers.get("Idempotency-Key"))
            if response.status == 200 and self.lost < self.to_lose:
                self.lost += 1
                error = {"code": "unavailable", "message": "The service is busy; try again."}
                return web.json_response({"error": error}, status=503, headers={"Retry-After": "0"})
        return response


@pytest.fixture
def losing() -> LostAnswers:
    """The middleware's state, for the test to read."""
    return LostAnswers()


@pytest.fixture(name="app")
async def app_losing_answers(
    settings: Settings, redis_client: aioredis.Redis, losing: LostAnswers
) -> web.Application:
    """The application with the answer-losing middleware innermost (the service unchanged)."""
    app = create_app(settings)
    app.middlewares.append(losing.middleware)
    return app


async def test_accept_answered_503_after_it_succeeded_lands_in_the_session(
    server: TestServer,
    open_page: PageFactory,
    sign_in: SignInFactory,
    losing: LostAnswers,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """The first accept is made but answered 503: the console retries with the same key, gets
    the same session and opens it; only that one request is in session."""
    officer = await sign_in("officer")
    made = await new_request(officer)
    clinician = await open_page(server, "clinician")
    await clinician.get_by_test_id("queue-item").wait_for()
    await clinician.get_by_test_id("accept-request").click()
    await clinician.wait_for_url(f"**/session/{made['id']}")
    assert losing.lost == 1 and len(losing.keys) == 2
    assert losing.keys[0] and losing.keys[0] == losing.keys[1]
    assert await redis_client.smembers(f"{key_prefix}active") == {made["id"]}
    _, seen = await officer.get(f"/api/v1/requests/{made['id']}")
    assert seen["status"] == "in_session"


async def test_take_next_whose_answer_never_arrived_takes_no_second_request(
    server: TestServer,
    open_page: PageFactory,
    sign_in: SignInFactory,
    losing: LostAnswers,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    """Take next reaches the service but the connection drops before the answer: the retry
    with the same key opens the request the first one took, and the next one still waits."""
    losing.to_lose = 0
    officer = await sign_in("officer")
    first, second = await new_request(officer), await new_request(officer)
    clinician = await open_page(server, "clinician")
    await clinician.get_by_test_id("queue-item").first.wait_for()
    dropped: list[int] = []

    async def drop_first_answer(route: Route) -> None:
        if dropped:
            await route.continue_()
            return
        response = await route.fetch()  # the service makes the change...
        dropped.append(response.status)
        await route.abort("connectionreset")  # ...and the page never hears of it

    await clinician.route("**/api/v1/queue/next", drop_first_answer)
    await clinician.get_by_test_id("take-next").click()
    await clinician.wait_for_url(f"**/session/{first['id']}")
    assert dropped == [200] and len(losing.keys) == 2 and losing.keys[0] == losing.keys[1]
    assert await redis_client.smembers(f"{key_prefix}active") == {first["id"]}
    _, still = await officer.get(f"/api/v1/requests/{second['id']}")
    assert still["status"] == "waiting"
