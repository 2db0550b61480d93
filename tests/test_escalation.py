"""Critical alarms leave the building: a signed webhook (retried, repeated, once across
instances) and an e-mail through a real SMTP server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from test_safety_net import FakeClock

from conftest import REDIS_URL, REQUEST_FORM, SignInFactory, deployment, new_request
from triage_service.settings import Settings
from triage_service.web.app import create_app

SECRET = "webhook-secret-for-tests"
T0 = 1_780_000_000_000


class Receiver:
    """A real webhook receiver: answers the scripted statuses in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.posts: list[tuple[bytes, dict[str, str], int]] = []
        self.arrived = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_post("/hook", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        body = await request.read()
        async with self.arrived:
            self.posts.append((body, dict(request.headers), status))
            self.arrived.notify_all()
        return web.Response(status=status)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Until `count` POSTs have arrived."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.posts) >= count), timeout)


@pytest.fixture
def clock() -> FakeClock:
    """The instances' shared clock."""
    return FakeClock(T0)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """The receiver on a real HTTP server; its first answer is a 500."""
    found = Receiver([500])
    server = TestServer(found.app)
    await server.start_server()
    yield found, str(server.make_url("/hook"))
    await server.close()


@pytest.fixture
def settings(key_prefix: str, receiver: tuple[Receiver, str]) -> Settings:
    """Webhook escalation on, repeated every minute."""
    return Settings(
        redis_url=REDIS_URL,
        key_prefix=key_prefix,
        sweep_interval_s=0.05,
        session_absolute_s=30 * 86400,
        alert_webhook_url=receiver[1],
        alert_webhook_secret=SECRET,
        alert_repeat_s=60,
    )


@pytest.fixture(name="app")
async def app_on_clock(
    settings: Settings, redis_client: aioredis.Redis, clock: FakeClock
) -> web.Application:
    """The first instance on the shared clock."""
    return create_app(settings, clock=clock)


@pytest.fixture
async def twin(settings: Settings, clock: FakeClock) -> AsyncIterator[TestServer]:
    """A second instance on the same Redis prefix and clock."""
    server = TestServer(create_app(settings, clock=clock))
    await server.start_server()
    yield server
    await server.close()


async def test_webhook_signed_retried_repeated_once_across_instances(
    twin: TestServer, receiver: tuple[Receiver, str], sign_in: SignInFactory, clock: FakeClock
) -> None:
    """The critical alarm is POSTed at once with a valid signature and no personal data; after
    the receiver's 500 it is retried after the backoff, and only once; two instances never send
    it twice; it is re-sent after the repeat time until acknowledged, then never again."""
    hook, _ = receiver
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    created = await new_request(officer)  # nobody on duty: critical no_clinician_on_duty
    await hook.wait_for(1)
    body, headers, status = hook.posts[0]
    assert status == 500
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Triage-Signature"] == expected
    payload = json.loads(body)
    assert payload["alarm"]["kind"] == "no_clinician_on_duty"
    assert payload["alarm"]["level"] == "critical"
    assert payload["request"] == {
        "id": created["id"],
        "priority": 2,
        "area": "Glasgow City Centre",
        "waited_s": 0.0,
    }
    text = body.decode()
    for personal in ("Jane", REQUEST_FORM["notes"], REQUEST_FORM["incident_ref"], "Buchanan"):
        assert personal not in text
    await asyncio.sleep(0.3)  # several ticks of both instances: the retry waits for the backoff
    assert len(hook.posts) == 1
    clock.advance(1.5)
    await hook.wait_for(2)
    assert (
        hook.posts[1][2] == 200
        and json.loads(hook.posts[1][0])["alarm"]["id"] == (payload["alarm"]["id"])
    )
    await asyncio.sleep(0.3)
    assert len(hook.posts) == 2  # delivered: nothing more until the repeat time
    clock.advance(61)
    await hook.wait_for(3)
    await asyncio.sleep(0.3)
    assert len(hook.posts) == 3
    status, _ = await supervisor.post(f"/api/v1/alarms/{payload['alarm']['id']}/ack")
    assert status == 200
    clock.advance(120)
    await asyncio.sleep(0.3)
    assert len(hook.posts) == 3


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
async def inbox() -> AsyncIterator[tuple[Inbox, int]]:
    """A real SMTP server on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` (the SMTP server runs in its own thread)."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_critical_alarm_is_emailed(inbox: tuple[Inbox, int]) -> None:
    """With an SMTP server set, a critical alarm arrives by e-mail, with no personal data."""
    handler, port = inbox
    async with deployment(
        smtp_url=f"smtp://127.0.0.1:{port}", alert_email_to="duty-manager@example.org"
    ) as running:
        officer = await running.sign_in("officer")
        await new_request(officer)
        await wait_until(lambda: bool(handler.messages))
    mail = handler.messages[0]
    assert mail["To"] == "duty-manager@example.org"
    subject = " ".join(str(mail["Subject"]).split())  # unfolded
    assert "critical" in subject and "no clinician is on duty" in subject
    text = mail.get_payload()
    assert isinstance(text, str) and "Jane" not in text and "Buchanan" not in text
