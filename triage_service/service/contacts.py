"""Previous contacts (DOMAIN.md): the person keys a request is stored with, its earlier
contacts as the clinician in session reads them, and that clinician's verdict on a possible
match (lua/create.lua links, lua/person_link.lua judges)."""

from __future__ import annotations

from typing import Literal

from triage_service.domain.answers import (
    ContactReferral,
    History,
    MatchVerdictOut,
    PreviousContact,
)
from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import ReferralStatus, RequestStatus
from triage_service.domain.errors import Conflict, NotFound
from triage_service.domain.models import Subject
from triage_service.domain.person import MatchedBy, person_keys, split_key
from triage_service.domain.times import to_datetime
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.store import Refused, Request, Store
from triage_service.store.changes import JudgeMatch

Verdict = Literal["confirmed", "rejected"]
REFUSALS = {
    "chi_match": "A CHI match is the same person: it is not a possible match to judge.",
    "match_rejected": "This match was rejected: it stays rejected.",
}


def person_fields(settings: Settings, subject: Subject) -> dict[str, str]:
    """The person keys a new request is stored with: none when linking is off
    (`TRIAGE_PERSON_KEY` unset) or neither a CHI number nor a name and date of birth is
    given."""
    secret = settings.linking
    keys = secret and person_keys(
        secret, chi=subject.chi, known_name=subject.known_name, date_of_birth=subject.date_of_birth
    )
    if not keys:
        return {}
    return {
        "person_key": keys.person_key,
        "person_match": keys.matched_by.value,
        "chi_key": keys.chi_key,
        "name_key": keys.name_key,
    }


def may_consult(user: User, record: Request) -> bool:
    """Whether `user` is the clinician in session with the request: the only one who sees
    its earlier contacts and judges a possible match."""
    return record.clinician_id == user.id and record.status == RequestStatus.IN_SESSION


async def read_history(store: Store, record: Request, areas: AreaDirectory) -> History:
    """The request's earlier contacts that its clinician has not rejected, newest first."""
    links = [(by, cid) for by, cid in await store.contacts.links(record.id) if by != "rejected"]
    by_id = {r.id: r for r in await store.requests.load_many([cid for _, cid in links])}
    found = [(by, by_id[cid]) for by, cid in links if cid in by_id]
    referral_ids = [f.referral_id for _, f in found if f.referral_id]
    referral_rows = await store.referrals.fields_of(referral_ids, ("service", "status"))
    referrals = dict(zip(referral_ids, referral_rows, strict=True))
    contacts = [_contact(f, by, referrals.get(f.referral_id or ""), areas) for by, f in found]
    matched = record.person_match
    return History(matched_by=MatchedBy(matched) if matched else None, contacts=contacts)


def _contact(
    f: Request,
    by: str,
    referral: dict[str, str | None] | None,
    areas: AreaDirectory,
) -> PreviousContact:
    """One earlier request as its contact: codes, area, referral and the summary while it
    is retained (the purge empties it)."""
    outcome = f.outcome or {}
    area = areas.area(f.area_id or "")
    return PreviousContact(
        request_id=f.id,
        created_at=to_datetime(f.created_ms),
        status=f.status,
        area=area.name if area else (f.area or None),
        area_id=f.area_id,
        triage_code=f.triage_code,
        disposition=f.disposition,
        referral=(
            ContactReferral(service=referral["service"] or "", status=ReferralStatus(status))
            if referral and (status := referral["status"])
            else None
        ),
        summary=outcome.get("summary") or None,
        matched_by=MatchedBy.CHI if by == "chi" else MatchedBy.NAME_DOB,
        confirmed=by == "confirmed",
    )


async def judge_match(
    store: Store,
    settings: Settings,
    clinician: User,
    record: Request,
    contact_id: str,
    verdict: Verdict,
    *,
    now_ms: int,
) -> MatchVerdictOut:
    """Record the clinician's verdict on a possible match (audited in the same step): a
    rejection unlinks it; a contact not linked is not found; a CHI match or a rejected one
    is a conflict."""
    secret = settings.linking or b""
    own_key = split_key(secret, record.person_key or "", record.id)
    try:
        call = JudgeMatch(
            request_id=record.id,
            clinician_id=clinician.id,
            contact_id=contact_id,
            verdict=verdict,
            own_key=own_key,
        )
        await store.change(call, now_ms=now_ms)
    except Refused as e:
        if e.code in ("not_found", "not_linked"):
            raise NotFound("earlier contact of this request") from e
        if e.code == "not_in_session":
            raise Conflict(e.code, f"The request is not in session with you ({e.status}).") from e
        raise Conflict(e.code, REFUSALS.get(e.code, f"Not allowed now: {e.code}.")) from e
    return MatchVerdictOut(request_id=record.id, contact_id=contact_id, verdict=verdict)
