"""The store's rules: key names spelt once (Python and Lua agree), Redis only in store/, and
wake-ups that parse back to the objects that published them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import redis.asyncio as aioredis

from conftest import REQUEST_FORM
from triage_service.domain.codes import Role
from triage_service.domain.models import RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle
from triage_service.settings import Settings
from triage_service.store import Keys, Store
from triage_service.store.keys import FIXED, PER_ID
from triage_service.store.wakes import (
    AvailabilityWake,
    ChatWake,
    RequestWake,
    SignalWake,
    Wake,
    parse,
)

PACKAGE = Path(__file__).resolve().parent.parent / "triage_service"
LUA = PACKAGE / "store" / "lua"


def _sources(*allowed: str) -> list[tuple[str, str]]:
    """(path relative to the package, text) of every module outside `allowed` folders/files."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith(allowed):
            found.append((rel, path.read_text()))
    return found


async def test_lua_prelude_names_every_key_as_keys_does(redis_client: aioredis.Redis) -> None:
    """The `K` table the scripts read gives exactly the names `Keys` gives Python."""
    keys = Keys("test:prelude:")
    calls = ", ".join(
        f"{method} = K.{method}({', '.join(repr(f'x{i}') for i in range(t.count('{}')))})"
        for method, t in PER_ID.items()
    )
    fixed = ", ".join(f"{name} = K.{name}" for name in FIXED)
    lua = Keys.lua_prelude() + f"return cjson.encode({{{fixed}, {calls}}})"
    found = json.loads(await redis_client.eval(lua, 0, keys.prefix))
    assert {name: found[name] for name in FIXED} == {n: getattr(keys, n) for n in FIXED}
    for method, template in PER_ID.items():
        parts = [f"x{i}" for i in range(template.count("{}"))]
        assert found[method] == getattr(keys, method)(*parts)


def test_lua_scripts_spell_no_key_name() -> None:
    """No script builds a key from a literal name or the prefix: they all go through `K`."""
    names = [f"'{name}'" for name in FIXED.values() if ":" in name]
    names += [f"'{template.split('{}')[0]}" for template in PER_ID.values()]
    for path in LUA.glob("*.lua"):
        code = "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
        assert "P .." not in code, path.name
        assert not re.search(r"call\('[A-Z]+', '", code), path.name  # a literal key
        for name in names:
            assert name not in code, (path.name, name)


def test_redis_only_in_the_store() -> None:
    """Outside store/ nothing imports redis (but the wake-up listener) or uses the raw
    client, and nothing spells a key name."""
    for rel, text in _sources("store/"):
        if rel != "live/wakeups.py":
            assert not re.search(r"^\s*(from|import) redis\b", text, re.M), rel
        assert not re.search(r"\bstore\.client\b|\.pubsub\(ignore", text), rel
        assert not re.search(r"\bkeys\(f?[\"']", text), rel
        for name in [*FIXED.values(), *PER_ID.values()]:
            if ":" in name:
                assert not re.search(rf"[\"']{re.escape(name.split('{')[0])}", text), (rel, name)


def test_wakes_parse_back_to_what_was_published() -> None:
    """Every wake-up object survives `to_json` and `parse` unchanged."""
    wakes: list[Wake] = [
        RequestWake("accepted", "r1", "c1"),
        ChatWake("r1", {"id": "m1", "text": "hello"}),
        SignalWake(to="o1", request_id="r1", from_role="clinician", data={"sdp": "x"}),
        AvailabilityWake(),
    ]
    for wake in wakes:
        assert parse(wake.to_json()) == wake


def test_malformed_wakes_parse_to_none() -> None:
    """Not JSON, not an object, or missing a field: dropped, not raised."""
    for data in ("{", "[1]", '"x"', '{"type": "signal", "request_id": "r"}', '{"type": 3}'):
        assert parse(data) is None


async def test_a_lua_published_wake_parses(
    redis_client: aioredis.Redis, key_prefix: str, settings: Settings
) -> None:
    """The `created` wake-up the create script publishes parses as a RequestWake."""
    store = Store(redis_client, key_prefix)
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(store.keys.wake)
    officer = User(id="o1", username="o1", display_name="O", role=Role.OFFICER)
    record, _ = await lifecycle.create_request(
        store,
        settings,
        officer,
        RequestForm.model_validate(REQUEST_FORM),
        now_ms=1_700_000_000_000,
        idempotency_key=None,
    )
    message = None
    for _ in range(100):
        message = await pubsub.get_message(timeout=0.05)
        if message is not None:
            break
        await asyncio.sleep(0)
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert message is not None
    assert parse(message["data"]) == RequestWake("created", record.id, "o1")
