"""Call set-up: accept → data channel open between two headless aiortc peers."""

from __future__ import annotations

import statistics
from typing import Any

from triage_client.call_flow import one_call
from triage_client.forms import SHORT_OUTCOME_FORM, SHORT_REQUEST_FORM
from triage_service.domain.codes import Role
from triage_tools.bench.harness import PASSWORD, Bench


async def measure_call_setup(bench: Bench, calls: int) -> dict[str, Any]:
    """Accept → data channel open on both headless aiortc peers (median of `calls`)."""
    try:
        from triage_client.headless import HeadlessPeer
    except ImportError as e:
        return {"skipped": f"headless peers unavailable: {e}"}
    (officer_user,) = await bench.users(Role.OFFICER, 1, "call-officer")
    (clinician_user,) = await bench.users(Role.CLINICIAN, 1, "call-clinician")
    base = bench.deployment.base_url
    officer = await HeadlessPeer.signed_in(base, officer_user.username, PASSWORD)
    clinician = await HeadlessPeer.signed_in(base, clinician_user.username, PASSWORD)
    setups = []
    try:
        await officer.client.open_live()
        await clinician.client.open_live()
        await clinician.client.request("PUT", "/api/v1/availability", {"status": "available"})
        for _ in range(calls):
            setups.append(
                await one_call(
                    officer, clinician, form=SHORT_REQUEST_FORM, outcome=SHORT_OUTCOME_FORM
                )
            )
    finally:
        await officer.close()
        await clinician.close()
    return {
        "samples": calls,
        "median_ms": round(statistics.median(setups) * 1000, 1),
        "all_ms": [round(s * 1000, 1) for s in setups],
    }
