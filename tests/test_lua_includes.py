"""The lifecycle scripts' shared Lua: each script includes exactly the shared pieces it uses,
each shared name is defined once, and no file assigns a name another file declares."""

from __future__ import annotations

import re
from pathlib import Path

import redis.asyncio as aioredis

from triage_service.store.rules import GENERATED
from triage_service.store.scripts import INCLUDE, lua_script
from triage_service.store.store import SCRIPT_NAMES

LUA = Path(__file__).resolve().parents[1] / "triage_service" / "store" / "lua"
NAME = r"[A-Za-z_]\w*"


def code(source: str) -> str:
    """`source` without comments, and with every string literal emptied."""
    source = re.sub(r"--\[\[.*?\]\]", "", source, flags=re.S)
    source = re.sub(r"--[^\n]*", "", source)
    source = re.sub(r"'(\\.|[^'\\\n])*'", "''", source)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', source)


def top_level_names(source: str) -> set[str]:
    """The locals and local functions a file declares at its top level."""
    text = code(source)
    names = set(re.findall(rf"^local function ({NAME})", text, re.M))
    for group in re.findall(r"^local ([\w, ]+?)\s*=", text, re.M):
        names |= {name.strip() for name in group.split(",")}
    return names


def own_names(source: str) -> set[str]:
    """Every name a file declares anywhere: locals, functions, parameters, loop variables."""
    text = code(source)
    names = set(re.findall(rf"\blocal function ({NAME})", text))
    for pattern in (r"\blocal ([\w, ]+?)\s*(?:=|\n)", r"\bfunction\s*[\w.:]*\(([^)]*)\)"):
        for group in re.findall(pattern, text):
            names |= {name.strip() for name in group.split(",") if name.strip()}
    for group in re.findall(r"\bfor ([\w, ]+?) (?:in|=)", text):
        names |= {name.strip() for name in group.split(",")}
    return names


def used_names(source: str) -> set[str]:
    """The names a file uses that it does not declare itself (fields after `.` left out)."""
    return set(re.findall(rf"(?<![.:\w])({NAME})", code(source))) - own_names(source)


def includes(source: str) -> set[str]:
    """The pieces a file names on its `-- include:` lines."""
    return {piece for line in INCLUDE.findall(source) for piece in line.split()}


def sources() -> dict[str, str]:
    """Every script and shared piece by name (with the pieces rendered from Python)."""
    found = {path.stem: path.read_text(encoding="utf-8") for path in LUA.glob("*.lua")}
    return found | {name: render() for name, render in GENERATED.items()}


def pieces() -> dict[str, set[str]]:
    """Each shared piece (a file some file includes) and the names it defines."""
    found = sources()
    shared = {piece for source in found.values() for piece in includes(source)}
    return {piece: top_level_names(found[piece]) for piece in shared}


def test_each_script_includes_exactly_the_shared_pieces_it_uses() -> None:
    """Every script and shared piece includes a piece if and only if it uses a name that the
    piece defines: nothing it needs is missing, nothing it does not use comes along."""
    defined = pieces()
    wrong = {}
    for name, source in sources().items():
        used = used_names(source)
        needed = {piece for piece, names in defined.items() if piece != name and used & names}
        if includes(source) != needed:
            wrong[name] = {"includes": sorted(includes(source)), "uses": sorted(needed)}
    assert wrong == {}


def test_each_shared_name_is_defined_in_one_piece() -> None:
    """No two shared pieces define the same name (one guard, one counter, one answer)."""
    seen: dict[str, str] = {}
    twice = []
    for piece, names in sorted(pieces().items()):
        twice += [f"{name}: {seen[name]} and {piece}" for name in names if name in seen]
        seen.update(dict.fromkeys(names, piece))
    assert twice == []


def test_no_file_assigns_a_name_declared_in_another() -> None:
    """A shared local changes only inside the piece that declares it (through a function such
    as `counting_board` or `bins_of_board`), never by an assignment in another file."""
    declared = {name: piece for piece, names in pieces().items() for name in names}
    found = []
    for name, source in sources().items():
        text, own = code(source), own_names(source)
        for match in re.finditer(rf"^\s*({NAME})\s*=[^=]", text, re.M):
            target, before = match[1], text[: match.start()].rstrip()
            if before.endswith(("{", ",")):
                continue  # a field of a table being built, not an assignment
            if target in declared and declared[target] != name and target not in own:
                found.append(f"{name}.lua assigns {target} of {declared[target]}.lua")
    assert found == []


def test_the_guards_are_shared_not_copied() -> None:
    """The in-session check and the idempotency repeat check are each written once, in their
    shared piece, and every script that needs them calls it."""

    def refuses(code: str) -> list[str]:
        return sorted(
            name
            for name, source in sources().items()
            if f"'{code}'" in re.sub(r"--[^\n]*", "", source)
        )

    assert refuses("not_in_session") == ["_sessions"]
    # lua/create.lua keeps its own key (the request id, answered `created: false`).
    assert refuses("idempotency_key_reused") == ["_idempotency", "create"]


async def test_every_script_loads_into_redis(redis_client: aioredis.Redis) -> None:
    """Each lifecycle script and the statistics read, assembled with its includes, compiles
    in Redis."""
    for name in (*SCRIPT_NAMES, "stats"):
        digest = await redis_client.script_load(lua_script(name))
        assert len(digest) == 40, name
