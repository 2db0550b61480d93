"""The parsed `Request` at the store's edge: a stored request reads back with typed fields,
and no module outside store/ reads the raw all-string hash (no field indexing, no JSON
parsing of the form or outcome, no projection of request fields by name)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from conftest import OUTCOME_FORM, REQUEST_FORM
from support.checkout import parse_python
from triage_service.domain.codes import RequestStatus, Role
from triage_service.domain.models import OutcomeForm, RequestForm
from triage_service.domain.users import User
from triage_service.service import lifecycle
from triage_service.settings import Settings
from triage_service.store import Store, parse_request
from triage_service.store.requests import CorruptRequest

PACKAGE = Path(__file__).resolve().parent.parent / "triage_service"
NOW = 1_700_000_000_000
# Fields only a request hash has (others, such as `id` or `status`, name fields of referral
# rows and answers too): a subscript or `.get` of one of them outside store/ is a raw read.
REQUEST_ONLY = frozenset(
    {
        "form",
        "outcome",
        "priority",
        "expire_ms",
        "overflow_ms",
        "officer_name",
        "clinician_name",
        "past_clinicians",
        "first_wait_ms",
        "officer_released_ms",
        "answered",
        "notice_id",
        "feedback_ms",
        "pos_ended_ms",
        "person_key",
        "person_match",
    }
)


# Where stored request fields are parsed: the store, and the month report's own typed rows
# (`ReportRecord`, read by position from its read-only script's answer).
PARSED_THERE = ("store/", "report/records.py")


def _raw_reads(tree: ast.AST) -> list[str]:
    """The raw request reads in a module: `x["priority"]`, `x.get("form")`, `x["record"]`
    of a script's answer, and `requests.fields_of(...)`."""
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        if key in REQUEST_ONLY or (key == "record" and "result" in ast.unparse(node)):
            found.append(f"{getattr(node, 'lineno', 0)}: {ast.unparse(node)}")
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("requests.fields_of"):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}")
    return found


def test_no_module_outside_the_store_reads_a_raw_request() -> None:
    """Every module but store/ reads requests as the parsed `Request` (or a typed projection
    of the store), never the stored hash's text fields by name."""
    offenders = {
        rel: reads
        for path in sorted(PACKAGE.rglob("*.py"))
        if not (rel := path.relative_to(PACKAGE).as_posix()).startswith(PARSED_THERE)
        and (reads := _raw_reads(parse_python(path.read_text())))
    }
    assert offenders == {}


def test_the_scan_finds_a_raw_read() -> None:
    """The scan above is not vacuous: the reads it forbids are found."""
    source = (
        "int(record['priority'])\njson.loads(record.get('form'))\nresult['record']\n"
        "store.requests.fields_of(ids, ('board',))\n"
    )
    assert len(_raw_reads(parse_python(source))) == 4


def test_templates_read_the_request_by_attribute() -> None:
    """The printed documents' templates read the `Request`'s attributes, not dict keys."""
    templates = PACKAGE.parent / "templates"
    assert [p.name for p in templates.glob("*.html") if "record.get(" in p.read_text()] == []


def test_an_empty_hash_is_no_request() -> None:
    """A vanished request (an empty hash) parses to None; empty text fields to None."""
    assert parse_request({}) is None
    stored = {
        "id": "r1",
        "status": "waiting",
        "priority": "2",
        "urgency": "urgent",
        "mode": "chat",
        "created_ms": str(NOW),
        "officer_id": "o1",
        "officer_name": "O",
        "area": "",
        "form": "{}",
        "board": "",
        "clinician_id": "",
        "overflow_ms": "",
        "answered": "",
    }
    record = parse_request(stored)
    assert record is not None
    assert (record.board, record.clinician_id, record.overflow_ms, record.answered) == (
        None,
        None,
        None,
        False,
    )


async def test_a_stored_request_reads_back_typed(
    redis_client: aioredis.Redis, key_prefix: str, settings: Settings
) -> None:
    """Through create, accept, release, accept again and the outcome, the store answers the
    request with ints for times and priority, the status as `RequestStatus`, the form and
    outcome as JSON objects, and who had it before as a tuple."""
    store = Store(redis_client, key_prefix)
    officer = User(id="o1", username="o1", display_name="Officer", role=Role.OFFICER)
    first = User(id="c1", username="c1", display_name="First", role=Role.CLINICIAN)
    second = User(id="c2", username="c2", display_name="Second", role=Role.CLINICIAN)
    created, _ = await lifecycle.create_request(
        store,
        settings,
        officer,
        RequestForm.model_validate(REQUEST_FORM),
        now_ms=NOW,
        idempotency_key=None,
    )
    assert created.status is RequestStatus.WAITING
    assert (created.created_ms, created.officer_name) == (NOW, "Officer")
    assert isinstance(created.priority, int) and created.form["concerns"]
    await lifecycle.accept_request(store, first, created.id, now_ms=NOW + 1000)
    await lifecycle.release_request(store, first, created.id, "handover", now_ms=NOW + 2000)
    taken = await lifecycle.accept_request(store, second, created.id, now_ms=NOW + 3000)
    assert (taken.clinician_id, taken.past_clinicians, taken.accepted_ms) == (
        "c2",
        ("c1",),
        NOW + 3000,
    )
    outcome = OutcomeForm.model_validate(OUTCOME_FORM)
    done = await lifecycle.file_outcome(
        store, settings, second, created.id, outcome, now_ms=NOW + 60_000
    )
    loaded = await store.requests.load(created.id)
    assert loaded == done
    assert done.status is RequestStatus.COMPLETED and done.completed_ms == NOW + 60_000
    assert done.outcome is not None and done.outcome["disposition"] == outcome.disposition.value
    assert done.answered and done.first_wait_ms == 1000


def test_a_corrupt_hash_is_refused_by_name() -> None:
    """A stored request missing a field or holding a malformed one raises `CorruptRequest`
    (a ValueError) naming the request, not a bare KeyError deep in a reader."""
    with pytest.raises(CorruptRequest, match="'r9'"):
        parse_request({"id": "r9", "status": "waiting", "priority": "high"})
    with pytest.raises(CorruptRequest, match="'\\?'"):
        parse_request({"status": "waiting"})
