"""Webhooks: each is signed with its own secret over a timestamp and the body; the documented
verification refuses a delivery older than five minutes; unsigned or weakly keyed webhooks
stop start-up."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from triage_service.settings import Settings, SettingsError, Webhook
from triage_service.web.alerts import Escalator
from triage_service.web.state import STORE

DOC = Path(__file__).parents[1] / "docs" / "webhooks.md"
SECRET = "a team's own secret of at least 32 bytes"
Verify = Callable[[bytes, dict[str, str], str, int], bool]


def documented_verification() -> Verify:
    """The `verify_delivery` function exactly as docs/webhooks.md gives it to receivers."""
    text = DOC.read_text()
    [code] = [block for block in re.findall(r"```python\n(.*?)```", text, re.S)]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    verify: Verify = namespace["verify_delivery"]
    return verify


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook receiver on a real HTTP server; its URL and what it received."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("/hook")), received
    await server.close()


async def test_documented_verification_accepts_fresh_deliveries_only(
    server: TestServer, settings: Settings, receiver: tuple[str, list[Any]]
) -> None:
    """A real delivery passes the documented check at its own time and up to five minutes
    later; one minute more, a changed body, a changed timestamp or another team's secret
    fail it."""
    url, received = receiver
    now_ms = 1_800_000_000_000
    async with aiohttp.ClientSession() as http:
        escalator = Escalator(server.app[STORE], settings, lambda: now_ms, http)
        assert await escalator.post(b'{"referral": {"id": "r1"}}', Webhook(url, SECRET))
    [(headers, body)] = received
    assert headers["X-Triage-Timestamp"] == str(now_ms // 1000)
    verify, sent = documented_verification(), now_ms // 1000
    assert verify(body, headers, SECRET, sent)
    assert verify(body, headers, SECRET, sent + 300)
    assert not verify(body, headers, SECRET, sent + 301)
    assert not verify(body.replace(b"r1", b"r2"), headers, SECRET, sent)
    replayed = {**headers, "X-Triage-Timestamp": str(sent + 600)}
    assert not verify(body, replayed, SECRET, sent + 600)
    assert not verify(body, headers, "another team's secret, also 32 bytes", sent)


@pytest.mark.parametrize(
    ("settings_given", "named"),
    [
        ({"alert_webhook_url": "https://x.example/hook"}, "unsigned"),
        ({"alert_webhook_url": "https://x.example/hook", "alert_webhook_secret": "short"}, "32"),
        ({"team_webhooks": json.dumps({"cmht:default": "https://x.example/hook"})}, "secret"),
        (
            {"team_webhooks": json.dumps({"cmht:default": {"url": "https://x.example/h"}})},
            "unsigned",
        ),
        (
            {
                "team_webhooks": json.dumps(
                    {"cmht:default": {"url": "https://x.example/h", "secret": "s"}}
                )
            },
            "32",
        ),
        (
            {"team_webhooks": json.dumps({"cmht:default": {"url": "ftp://x", "secret": SECRET}})},
            "http",
        ),
    ],
)
def test_unsigned_or_weakly_keyed_webhooks_stop_start_up(
    settings_given: dict[str, Any], named: str
) -> None:
    """A webhook without a secret, or with one shorter than 32 bytes, is refused at start-up
    with a line saying why."""
    with pytest.raises(SettingsError, match=named):
        Settings(**settings_given)


def test_each_team_has_its_own_secret() -> None:
    """Two teams' webhooks keep their own URLs and secrets."""
    other = "the other team's secret, 32 bytes+"
    hooks = {
        "cmht:default": {"url": "https://a.example/h", "secret": SECRET},
        "crisis_team:default": {"url": "https://b.example/h", "secret": other},
    }
    found = Settings(team_webhooks=json.dumps(hooks)).team_webhooks_by_team
    assert found == {
        "cmht:default": Webhook("https://a.example/h", SECRET),
        "crisis_team:default": Webhook("https://b.example/h", other),
    }
