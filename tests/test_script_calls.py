"""Store calls take one typed argument object: each script call's `argv()` fills exactly the
ARGV its Lua script reads, the lifecycle and presence services pass no positional lists to
`Store.run`, and presence operations are named by `PresenceOp`, not by free strings."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from support.checkout import parse_python
from triage_service.store.changes import SCRIPT_CALLS, FileOutcome, ScriptCall
from triage_service.store.presence import PresenceOp
from triage_service.store.store import IDEMPOTENT

PACKAGE = Path(__file__).resolve().parent.parent / "triage_service"
LUA = PACKAGE / "store" / "lua"


def _sample(call: type[ScriptCall]) -> ScriptCall:
    """An instance of `call` with a value of the right kind for every field."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(call):  # type: ignore[arg-type]
        kind = str(field.type)
        values[field.name] = (
            {} if "Mapping" in kind else True if kind == "bool" else 1 if kind == "int" else "x"
        )
    return call(**values)


def _argv_read(script: str) -> set[int]:
    """The ARGV positions a script's own text reads (its includes read only ARGV[2], the
    time, and ARGV[#ARGV], the idempotency key)."""
    return {int(n) for n in re.findall(r"ARGV\[(\d+)\]", (LUA / f"{script}.lua").read_text())}


@pytest.mark.parametrize("call", SCRIPT_CALLS, ids=lambda c: c.__name__)
def test_each_call_fills_exactly_the_argv_its_script_reads(call: type[ScriptCall]) -> None:
    """After the prefix and the time, `argv()` gives one value for each ARGV the script
    reads, in order (the idempotency key, where there is one, comes after them)."""
    argv = _sample(call).argv()
    assert max(_argv_read(call.script)) == 2 + len(argv)
    assert all(isinstance(value, str | int) for value in argv)


def test_the_outcome_call_maps_each_field_to_its_argv() -> None:
    """The outcome script's eleven values are the call's fields in the script's order, with
    none and no as ''."""
    call = FileOutcome(
        request_id="r1",
        clinician_id="c1",
        outcome_json="{}",
        disposition="no_further_action",
        triage_code="E",
        conveyance="none",
        officer_released_ms=5,
        referral_json=None,
        notice_json='{"id": "n"}',
        overridden=True,
        notify_team=False,
    )
    assert call.argv() == [
        "r1",
        "c1",
        "{}",
        "no_further_action",
        "E",
        "none",
        5,
        "",
        '{"id": "n"}',
        "1",
        "",
    ]
    assert call.script in IDEMPOTENT


def test_services_pass_no_positional_lists_to_lifecycle_scripts() -> None:
    """service/ runs the scripts that have a call object through `Store.change` and the
    presence script through `store.presence`: no `store.run` of them by name."""
    typed = {call.script for call in SCRIPT_CALLS} | {"presence"}
    found = []
    for path in sorted((PACKAGE / "service").rglob("*.py")):
        for node in ast.walk(parse_python(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func).endswith("store.run")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in typed
            ):
                found.append(f"{path.name}:{node.lineno} {node.args[0].value}")
    assert found == []


def test_presence_operations_are_the_scripts_operations() -> None:
    """Each `PresenceOp` is an operation the presence script handles, and each operation it
    handles is a `PresenceOp`."""
    handled = set(re.findall(r"op == '(\w+)'", (LUA / "presence.lua").read_text()))
    assert handled == {op.value for op in PresenceOp}
