"""One source per rule, Lua and Python agreeing: the outcome counters' detentions and
"conveyance avoided" are rendered into the Lua from domain/codes.py, and the Lua routing at
accept (`offered` in lua/_accept.lua) answers as domain/routing.py `offered_to` for every
combination of boards and overflow times."""

from __future__ import annotations

import itertools
import json

import redis.asyncio as aioredis

from triage_service.domain.codes import (
    DETENTION_DISPOSITIONS,
    Conveyance,
    Disposition,
    conveyance_avoided,
)
from triage_service.domain.routing import offered_to
from triage_service.store.keys import Keys
from triage_service.store.rules import lua_rules
from triage_service.store.scripts import _lua, included

NOW = 1_700_000_000_000


def test_the_counters_read_the_rules_from_the_domain() -> None:
    """No Lua file spells a disposition or conveyance the rules classify by: the counters
    include the rendered `_rules` piece instead."""
    outcome_counts = _lua("_outcome_counts")
    assert "_rules" in included(outcome_counts, [])
    for code in ("not_completed", "ambulance", "place_of_safety_s297", "medical_examination"):
        assert code not in outcome_counts


async def test_conveyance_avoided_in_lua_is_the_domains(redis_client: aioredis.Redis) -> None:
    """For every disposition and conveyance, the Lua rule and the Python one agree, and the
    Lua detentions are the domain's."""
    pairs = [(d.value, c.value) for d in Disposition for c in Conveyance]
    lua = lua_rules() + (
        "local out, held = {}, {}\n"
        "for i, pair in ipairs(cjson.decode(ARGV[1])) do\n"
        "  out[i] = conveyance_avoided(pair[1], pair[2]) and 1 or 0\n"
        "end\n"
        "for d in pairs(DETENTIONS) do held[#held + 1] = d end\n"
        "return cjson.encode({out, held})"
    )
    raw = await redis_client.eval(lua, 0, json.dumps(pairs))
    avoided, held = json.loads(raw)
    assert avoided == [int(conveyance_avoided(d, c)) for d, c in pairs]
    assert set(held) == {d.value for d in DETENTION_DISPOSITIONS}


async def test_routing_in_lua_is_the_domains(redis_client: aioredis.Redis, key_prefix: str) -> None:
    """`offered` (accept, queue/next) and `offered_to` (views, live channel) agree for
    clinicians covering no board, one or two, requests of no board or either, and overflow
    times before, at and after now."""
    combinations = list(
        itertools.product(
            (["lothian"], [], ["glasgow"], ["lothian", "glasgow"]),
            ("", "lothian", "glasgow"),
            (NOW - 1, NOW, NOW + 1, NOW + 10**9),
        )
    )
    cases = [
        {"id": f"r{n}", "board": board, "overflow": overflow, "boards": boards}
        for n, (boards, board, overflow) in enumerate(combinations)
    ]
    source = _lua("_accept")
    pieces = "\n".join(_lua(piece) for piece in included(source, []))
    lua = "\n".join(
        [
            Keys.lua_prelude(),
            pieces,
            source,
            "local out = {}",
            "for i, c in ipairs(cjson.decode(ARGV[3])) do",
            "  redis.call('HSET', K.request(c.id), 'board', c.board, 'overflow_ms', c.overflow)",
            "  local set = nil",
            "  if #c.boards > 0 then set = {} end",
            "  for _, b in ipairs(c.boards) do set[b] = true end",
            "  out[i] = offered(c.id, set) and 1 or 0",
            "end",
            "return cjson.encode(out)",
        ]
    )
    raw = await redis_client.eval(lua, 0, key_prefix, NOW, json.dumps(cases))
    expected = [
        int(offered_to(boards, board=board, overflow_ms=overflow, now_ms=NOW))
        for boards, board, overflow in combinations
    ]
    assert json.loads(raw) == expected
