"""The FHIR R4 export: de-identified Encounters and ServiceRequests as NDJSON, page by page.

Models come from `fhir.resources.R4B`. The last `fhir.resources` release with the R4 (4.0.1)
models themselves is 6.1.0, which is built on pydantic v1 and cannot be installed beside this
service's pydantic v2; from 7.0 the package ships R4B (4.3.0) in place of R4 (8.x is the
first on pydantic v2). R4B is a small technical revision of R4, and every element written
here exists in R4 with the same name, type and cardinality (the output was checked against
6.1.0's R4 models once), so a receiver expecting R4 reads it as R4.

Like the CSV export, a resource is built from codes and times only: no names, free text,
places or coordinates (the form is read for the age band and sex alone). Codes of our own
live under `Settings.fhir_base_url`. See docs/export.md ("FHIR export").
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.encounter import Encounter, EncounterHospitalization
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest

from triage_service.domain.areas import AreaDirectory
from triage_service.domain.codes import RequestStatus
from triage_service.domain.models import iso_z
from triage_service.domain.times import to_datetime
from triage_service.export.csv import Sink, load_rows, pages
from triage_service.settings import Settings
from triage_service.stats.window import Window
from triage_service.store.requests import Request
from triage_service.store.store import Store

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ENCOUNTER_PRIORITY = {
    "immediate": ("EM", "emergency"),
    "urgent": ("UR", "urgent"),
    "routine": ("R", "routine"),
}
# FHIR request-priority from the referral's triage code and its response target: A is an
# emergency, B is within hours, C and D within days, E within weeks.
REFERRAL_PRIORITY = {"A": "stat", "B": "asap", "C": "urgent", "D": "urgent", "E": "routine"}
# FHIR request-status from the referral's status; the exact one goes in an extension too.
REFERRAL_STATUS = {
    "pending": "active",
    "accepted": "active",
    "completed": "completed",
    "did_not_attend": "revoked",
    "cancelled": "revoked",
    "declined": "revoked",
}
# The referral's status history: when the receiving team (or the clinician) set each status.
STATUS_TIMES = ("accepted", "declined", "completed", "did_not_attend", "cancelled")
UCUM = "http://unitsofmeasure.org"
SERVICE_NAME = "Police mental-health remote triage service"


async def write_fhir_export(
    store: Store,
    settings: Settings,
    window: Window,
    sink: Sink,
    *,
    boards: Collection[str] | None = None,
) -> int:
    """Write the resources of every completed request created in the window (of `boards`,
    when given), one JSON object a line, oldest request first; return the number of
    resources."""
    base = settings.fhir_base_url.rstrip("/")
    written = 0
    async for page in pages(store, window):
        resources = [
            resource
            for record, referral in await load_rows(store, page, boards=boards)
            for resource in request_resources(record, referral, base, settings.areas)
        ]
        if resources:
            await sink.write(b"".join(r.model_dump_json().encode() + b"\n" for r in resources))
        written += len(resources)
    return written


def request_resources(
    record: Request,
    referral: dict[str, str | None],
    base: str,
    areas: AreaDirectory | None = None,
) -> Iterator[Resource]:
    """A completed request's Encounter, then its referral's ServiceRequest if it made one."""
    if record.status is not RequestStatus.COMPLETED:
        return
    yield encounter(record, base, areas)
    if referral["status"] is not None:
        yield service_request(record, referral, base)


def encounter(record: Request, base: str, areas: AreaDirectory | None = None) -> Encounter:
    """The remote assessment: virtual, from accept to outcome, for the triage code, ending
    in the disposition (and how the person was conveyed, if at all), with the person's age
    band and sex and the area and board it happened in (for equity and area analysis)."""
    code, label = ENCOUNTER_PRIORITY.get(record.urgency, ("", ""))
    return Encounter(
        id=record.id,
        meta=Meta(lastUpdated=_time(record.completed_ms)),
        identifier=[Identifier(system=f"{base}/identifier/request", value=record.id)],
        status="finished",
        class_fhir=Coding(system=ACT_CODE, code="VR", display="virtual"),
        priority=(
            CodeableConcept(coding=[Coding(system=ACT_PRIORITY, code=code, display=label)])
            if code
            else None
        ),
        subject=person(record, base),
        period=Period(start=_time(record.accepted_ms), end=_time(record.completed_ms)),
        reasonCode=[_concept(base, "triage-code", record.triage_code or "")],
        hospitalization=EncounterHospitalization(
            dischargeDisposition=_concept(base, "disposition", record.disposition or "")
        ),
        serviceProvider=service(base),
        extension=[
            Extension(
                url=f"{base}/StructureDefinition/conveyance", valueCode=record.conveyance or ""
            ),
            *durations(record, base),
            *equity(record, base, areas),
        ],
    )


def durations(record: Request, base: str) -> list[Extension]:
    """The wait (request to first answer) and the police time (request to officer released),
    as Duration extensions in seconds."""
    found = []
    released = record.officer_released_ms
    for name, ms in (
        ("wait", record.first_wait_ms),
        ("police-time", released - record.created_ms if released is not None else None),
    ):
        if ms is not None:
            found.append(
                Extension(
                    url=f"{base}/StructureDefinition/{name}",
                    valueDuration=Duration(
                        value=round(ms / 1000, 1), unit="s", system=UCUM, code="s"
                    ),
                )
            )
    return found


def equity(record: Request, base: str, areas: AreaDirectory | None = None) -> list[Extension]:
    """The person's age band and sex (codes from the request form) and the area and health
    board (codings of the directory, with their names), as extensions: `age-band`, `sex`,
    `area` (only for an area of the directory: a typed place is free text) and `board`."""
    subject = record.form.get("subject") or {}
    found = [
        Extension(
            url=f"{base}/StructureDefinition/age-band",
            valueCode=subject.get("age_band") or "unknown",
        ),
        Extension(url=f"{base}/StructureDefinition/sex", valueCode=subject.get("sex") or "unknown"),
    ]
    area = areas.area(record.area_id or "") if areas else None
    board_id = record.board or ""
    board = areas.board(board_id) if areas and board_id else None
    for name, code, display in (
        ("area", area.id if area else "", area.name if area else ""),
        ("board", board_id, board.name if board else board_id),
    ):
        if code:
            found.append(
                Extension(
                    url=f"{base}/StructureDefinition/{name}",
                    valueCoding=Coding(
                        system=f"{base}/CodeSystem/{name}", code=code, display=display
                    ),
                )
            )
    return found


def status_history(referral: dict[str, str | None], base: str) -> list[Extension]:
    """When each status of the referral was set, one extension each (`status`, `time`)."""
    return [
        Extension(
            url=f"{base}/StructureDefinition/referral-status-history",
            extension=[
                Extension(url="status", valueCode=name),
                Extension(url="time", valueDateTime=_time(referral.get(f"{name}_ms"))),
            ],
        )
        for name in STATUS_TIMES
        if referral.get(f"{name}_ms")
    ]


def service_request(record: Request, referral: dict[str, str | None], base: str) -> ServiceRequest:
    """The follow-up referral, ordered by the service from the receiving service type.

    `occurrencePeriod` runs from the referral to its due time: the contact is due *by* then,
    not at it.
    """
    status, urgency = referral["status"] or "", referral["urgency"] or ""
    return ServiceRequest(
        id=record.referral_id,
        meta=Meta(lastUpdated=_time(referral["updated_ms"])),
        identifier=[Identifier(system=f"{base}/identifier/referral", value=record.referral_id)],
        extension=[
            Extension(url=f"{base}/StructureDefinition/referral-status", valueCode=status),
            *status_history(referral, base),
        ],
        status=REFERRAL_STATUS.get(status, "unknown"),
        intent="order",
        priority=REFERRAL_PRIORITY.get(urgency),
        subject=person(record, base),
        encounter=Reference(reference=f"Encounter/{record.id}"),
        authoredOn=_time(referral["created_ms"]),
        occurrencePeriod=Period(start=_time(referral["created_ms"]), end=_time(referral["due_ms"])),
        requester=service(base),
        performerType=_concept(base, "referral-service", referral["service"] or "other"),
        reasonCode=[_concept(base, "triage-code", urgency)]
        if urgency in REFERRAL_PRIORITY
        else None,
    )


def person(record: Request, base: str) -> Reference:
    """The person assessed, as a pseudonym only.

    The service never holds a Patient resource, so the reference is logical (by identifier)
    rather than a literal one that would dangle. With a person key (previous contacts:
    a keyed hash of the CHI number, else of name and date of birth) the pseudonym is a hash
    of that key, the same for each of the person's requests, so repeat contacts can be
    followed; without one it is a hash of the random request id, "the person of this
    request". Neither gives the person's identifiers away, and both stay the same in every
    export.
    """
    source = f"person-key:{key}" if (key := record.person_key) else f"person:{record.id}"
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    return Reference(
        type="Patient", identifier=Identifier(system=f"{base}/identifier/person", value=digest)
    )


def service(base: str) -> Reference:
    """This service, as the organisation that assessed and referred."""
    return Reference(
        type="Organization",
        display=SERVICE_NAME,
        identifier=Identifier(system=f"{base}/identifier/organization", value="triage-service"),
    )


def _concept(base: str, system: str, code: str) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=f"{base}/CodeSystem/{system}", code=code)])


def _time(ms: str | int | None) -> str | None:
    moment = to_datetime(ms)
    return iso_z(moment) if moment else None
