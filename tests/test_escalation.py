"""Critical alarms leave the building: a signed webhook (retried, repeated, once across
instances) and an e-mail through a real SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from conftest import REDIS_URL, REQUEST_FORM, FakeClock, SignInFactory, deployment, new_request
from live_server import free_port
from support.commands import start_instance
from triage_service.domain.codes import Role
from triage_service.domain.models import RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle
from triage_service.settings import Settings
from triage_service.store import Store
from triage_service.store.alarms import DELIVERY_LEASE_MS
from triage_service.web.app import create_app

SECRET = "webhook-secret-for-tests-32-bytes-long"
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


async def test_webhook_signed_retried_repeated_once_across_instances(
    second_server: TestServer,
    receiver: tuple[Receiver, str],
    sign_in: SignInFactory,
    clock: FakeClock,
) -> None:
    """The critical alarm is POSTed at once with a valid signature and no personal data; after
    the receiver's 500 it is retried after the backoff, and only once; two instances never send
    it twice; it is re-sent after the repeat time until acknowledged, then never again. Each
    POST names the alarm (`X-Triage-Alarm-Id`); the retry of a send has that send's
    `Idempotency-Key`, the repeat a new one."""
    hook, _ = receiver
    officer, supervisor = await sign_in("officer"), await sign_in("supervisor")
    created = await new_request(officer)  # nobody on duty: critical no_clinician_on_duty
    await hook.wait_for(1)
    body, headers, status = hook.posts[0]
    assert status == 500
    stamp = headers["X-Triage-Timestamp"]
    assert int(stamp) == clock() // 1000
    signed = stamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Triage-Signature"] == expected
    payload = json.loads(body)
    assert payload["alarm"]["kind"] == "no_clinician_on_duty"
    assert payload["alarm"]["level"] == "critical"
    assert payload["request"] == {
        "id": created["id"],
        "priority": 2,
        "area": {"id": "default", "name": "Default area"},
        "board": {"id": "default", "name": "Default board"},
        "waited_s": 0.0,
    }
    assert (payload["alarm"]["area"], payload["alarm"]["board"]) == (
        payload["request"]["area"],
        payload["request"]["board"],
    )
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
    alarm_id = payload["alarm"]["id"]  # a retry keeps its send's key; a repeat has a new one
    assert [h["Idempotency-Key"] for _, h, _ in hook.posts] == [
        f"{alarm_id}:1",
        f"{alarm_id}:1",
        f"{alarm_id}:2",
    ]
    assert {h["X-Triage-Alarm-Id"] for _, h, _ in hook.posts} == {alarm_id}
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


class SlowReceiver:
    """A webhook receiver that takes `delay_s` to answer each POST (200), noting when each
    arrived; with `hold_first`, the first POST is not answered until `release` is set."""

    def __init__(self, delay_s: float = 0.0, *, hold_first: bool = False) -> None:
        self.delay_s = delay_s
        self.hold_first = hold_first
        self.release = asyncio.Event()
        self.posts: list[tuple[float, dict[str, Any], dict[str, str]]] = []
        self.arrived = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_post("/hook", self.hook)

    async def hook(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.read())
        async with self.arrived:
            self.posts.append((time.monotonic(), payload, dict(request.headers)))
            self.arrived.notify_all()
        if self.hold_first and len(self.posts) == 1:
            await self.release.wait()
        await asyncio.sleep(self.delay_s)
        return web.Response(status=200)

    async def wait_for(self, count: int, timeout: float) -> None:
        """Until `count` POSTs have arrived."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.posts) >= count), timeout)


@contextlib.asynccontextmanager
async def receiving(found: SlowReceiver) -> AsyncIterator[str]:
    """`found` on a real HTTP server; its URL."""
    server = TestServer(found.app)
    await server.start_server()
    try:
        yield str(server.make_url("/hook"))
    finally:
        found.release.set()
        await server.close()


ALARMS = 40


async def test_a_receiver_taking_2_s_delays_no_critical_alarm_past_5_s() -> None:
    """40 critical alarms at once (40 requests waiting, nobody on duty) and a receiver that
    takes 2 s to answer each POST: every alarm reaches it within 5 s of its request, since
    deliveries run side by side, not one after another (sweeps every second, as by default)."""
    slow = SlowReceiver(2.0)
    async with (
        receiving(slow) as url,
        deployment(
            alert_webhook_url=url,
            alert_webhook_secret=SECRET,
            sweep_interval_s=1.0,
            requests_per_minute=1000,
        ) as on,
    ):
        officer = await on.sign_in("officer")
        created: dict[str, float] = {}
        for _ in range(ALARMS):
            created[(await new_request(officer))["id"]] = time.monotonic()
        await slow.wait_for(ALARMS, timeout=15)
        late = {
            payload["request"]["id"]: round(at - created[payload["request"]["id"]], 2)
            for at, payload, _ in slow.posts
        }
        assert len(late) == ALARMS and max(late.values()) <= 5.0, late
        for _, payload, headers in slow.posts:
            alarm_id = payload["alarm"]["id"]
            assert headers["X-Triage-Alarm-Id"] == alarm_id
            assert headers["Idempotency-Key"] == f"{alarm_id}:1"
        print(f"slowest of {ALARMS} alarms delivered {max(late.values()):.2f} s after its request")


@pytest.mark.slow  # runs the command line
async def test_a_sender_killed_mid_post_is_retried_with_the_same_idempotency_key(
    key_prefix: str, redis_client: aioredis.Redis, serve_process: list[subprocess.Popen[bytes]]
) -> None:
    """The instance POSTing a critical alarm is killed (`kill -9`) while the receiver holds the
    POST: once its claim lapses another instance sends it again, with the same alarm id and
    `Idempotency-Key` (at least once, never a duplicate the receiver cannot recognise)."""
    held = SlowReceiver(hold_first=True)
    async with receiving(held) as url:
        serve_process.append(
            await start_instance(
                free_port(),
                key_prefix,
                TRIAGE_ALERT_WEBHOOK_URL=url,
                TRIAGE_ALERT_WEBHOOK_SECRET=SECRET,
                TRIAGE_SWEEP_INTERVAL_S="0.1",
            )
        )
        store = Store(redis_client, key_prefix)
        officer = User(id="off-1", username="off-1", display_name="PC One", role=Role.OFFICER)
        form = RequestForm.model_validate(REQUEST_FORM)
        now = int(time.time() * 1000)
        await lifecycle.create_request(
            store, Settings(), officer, form, now_ms=now, idempotency_key=None
        )
        await held.wait_for(1, timeout=10)
        serve_process[0].send_signal(signal.SIGKILL)
        serve_process[0].wait(timeout=10)
        settings = Settings(
            redis_url=REDIS_URL,
            key_prefix=key_prefix,
            sweep_interval_s=0.1,
            alert_webhook_url=url,
            alert_webhook_secret=SECRET,
        )
        # The other instance runs on a clock the test moves: the claim's lease passes without
        # being waited out.
        clock = FakeClock(int(time.time() * 1000))
        other = TestServer(create_app(settings, clock=clock))
        await other.start_server()
        try:
            await asyncio.sleep(1)  # ten sweeps while the dead sender's claim still holds
            assert len(held.posts) == 1, "sent again while the first claim held"
            clock.advance(DELIVERY_LEASE_MS / 1000)
            sweeps_from = time.monotonic()
            await held.wait_for(2, timeout=5)
            took = time.monotonic() - sweeps_from
        finally:
            await other.close()
    (_, first, sent), (_, again, resent) = held.posts[:2]
    assert again["alarm"]["id"] == first["alarm"]["id"]
    assert resent["X-Triage-Alarm-Id"] == sent["X-Triage-Alarm-Id"] == first["alarm"]["id"]
    assert resent["Idempotency-Key"] == sent["Idempotency-Key"] == f"{first['alarm']['id']}:1"
    assert took <= 2  # the first sweeps after the lease lapsed
