"""Brute-force repeat presentations (DOMAIN.md "Previous contacts"), for tests: from the
identifiers as the officer typed them and the matches the clinicians rejected, comparing
every pair of requests; independent of the person keys, links and counters the service
keeps."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection

Record = dict[str, str]
DAY_MS = 86_400_000
HISTORY_MS = 730 * DAY_MS
WITHIN_MS = {"within_30d": 30 * DAY_MS, "within_12m": 365 * DAY_MS}


def identity(record: Record) -> tuple[str, str, str]:
    """CHI digits, the name reduced to its letters and digits (no accents, no case), and the
    date of birth; '' for each not given."""
    subject = json.loads(record["form"])["subject"]
    chi = "".join(c for c in subject.get("chi") or "" if c.isdigit())
    letters = unicodedata.normalize("NFKD", subject.get("known_name") or "").casefold()
    name = "".join(c for c in letters if c.isalnum() and not unicodedata.combining(c))
    return chi, name, subject.get("date_of_birth") or ""


def same_person(later: Record, earlier: Record) -> bool:
    """Linked: the same CHI; or the same name and date of birth where not both gave a CHI."""
    chi, name, born = identity(later)
    their_chi, their_name, their_born = identity(earlier)
    if chi and chi == their_chi:
        return True
    both_chi = bool(chi and their_chi)
    return bool(name and born) and (name, born) == (their_name, their_born) and not both_chi


def earlier_contacts(
    records: list[Record], rejected: Collection[tuple[str, str]]
) -> dict[str, list[int]]:
    """By request id, the creation times of its person's earlier requests of the 730 days
    before it, less the (request, contact) pairs its clinician rejected."""
    found: dict[str, list[int]] = {}
    for r in records:
        created = int(r["created_ms"])
        found[r["id"]] = [
            int(o["created_ms"])
            for o in records
            if 0 < created - int(o["created_ms"]) <= HISTORY_MS
            and (r["id"], o["id"]) not in rejected
            and same_person(r, o)
        ]
    return found


def repeat_flags(
    records: list[Record], rejected: Collection[tuple[str, str]]
) -> dict[str, dict[str, bool]]:
    """By request id: whether an earlier contact was at most 30 days (365 days) before."""
    contacts = earlier_contacts(records, rejected)
    return {
        r["id"]: {
            name: any(int(r["created_ms"]) - t <= within for t in contacts[r["id"]])
            for name, within in WITHIN_MS.items()
        }
        for r in records
    }


def repeat_counts(flags: dict[str, dict[str, bool]], chosen: Collection[str]) -> dict[str, int]:
    """`{within_30d, within_12m}` over the requests `chosen` (ids)."""
    return {name: sum(flags[r][name] for r in chosen) for name in WITHIN_MS}
