"""Lighthouse (mobile, simulated throttling) on the sign-in page and the officer's page.

Accessibility, best practices and SEO must be 100. Performance is 100 on a quiet machine;
Lighthouse multiplies the main-thread time it observes by four to simulate a phone, so on a
loaded two-core machine the score can drop with the load: the test asserts PERFORMANCE_FLOOR
(running again, up to three runs, when a run falls under it or Lighthouse's own recording of
the load fails) and prints every score.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from conftest import SignInFactory
from triage_service.web.auth import COOKIE

from .conftest import CHROMIUM

LIGHTHOUSE = Path(__file__).parent / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# Measured 1.0 in nearly every run with the machine's load average between 2 and 28 on two
# cores, 0.96 to 0.99 in a few, and once 0.76 (a burst of load read as blocking time, 0.96 on
# the next run); quiet, it is 1.0. Hence the floor and the runs again.
PERFORMANCE_FLOOR = 0.9
RUN_TIMEOUT_S = 150
ATTEMPTS = 3


async def lighthouse(url: str, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    """Lighthouse's report (JSON) on `url`: mobile, simulated throttling, Debian's Chromium;
    None when Lighthouse says its recording of the load failed."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as out:
        report = Path(out) / "report.json"
        process = await asyncio.create_subprocess_exec(
            "node",
            str(LIGHTHOUSE),
            url,
            f"--chrome-path={CHROMIUM}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            "--form-factor=mobile",
            "--throttling-method=simulate",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--extra-headers={json.dumps(headers or {})}",
            "--output=json",
            f"--output-path={report}",
            "--quiet",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        text = output.decode()
        if process.returncode != 0 and "Runtime error encountered" in text:
            print(f"{url}: {text.strip()[-300:]}")
            return None  # Lighthouse's own trace failed (NO_NAVSTART under load): run again
        assert process.returncode == 0, text[-3000:]
        result: dict[str, Any] = json.loads(report.read_text())
    assert "runtimeError" not in result, result["runtimeError"]
    settings = result["configSettings"]
    assert (settings["formFactor"], settings["throttlingMethod"]) == ("mobile", "simulate")
    return result


def scores(result: dict[str, Any]) -> dict[str, float]:
    """The four category scores (0 to 1), printed with every weighted audit below 1."""
    found = {name: result["categories"][name]["score"] for name in CATEGORIES}
    metrics = result["audits"]["metrics"]["details"]["items"][0]
    print(
        result["finalDisplayedUrl"],
        {name: round(score * 100) for name, score in found.items()},
        {key: round(metrics[key]) for key in ("firstContentfulPaint", "totalBlockingTime")},
    )
    for name in CATEGORIES:
        for ref in result["categories"][name]["auditRefs"]:
            audit = result["audits"][ref["id"]]
            if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                print(f"  {name}: {ref['id']} {audit['score']} {audit.get('displayValue', '')}")
    return found


async def audit(url: str, headers: dict[str, str] | None = None) -> None:
    """Accessibility, best practices and SEO 100 on every run that Lighthouse completes;
    performance at least the floor. Up to ATTEMPTS runs: one more when Lighthouse's own
    recording failed or a burst of load pulled performance under the floor."""
    for attempt in range(1, ATTEMPTS + 1):
        result = await lighthouse(url, headers)
        if result is None:
            continue
        assert result["finalDisplayedUrl"] == url  # signed in where it must be, not sent back
        found = scores(result)
        assert (found["accessibility"], found["best-practices"], found["seo"]) == (1, 1, 1)
        if found["performance"] >= PERFORMANCE_FLOOR:
            return
        print(f"  performance under {PERFORMANCE_FLOOR} on run {attempt}")
    pytest.fail(f"{url}: no run of {ATTEMPTS} reached performance {PERFORMANCE_FLOOR}")


@pytest.mark.timeout(2 * ATTEMPTS * RUN_TIMEOUT_S + 30)
async def test_sign_in_and_officer_pages_score_100_in_lighthouse(
    server: TestServer, sign_in: SignInFactory
) -> None:
    """The sign-in page signed out and the officer's page signed in, one after the other
    (never both at once: each run's simulated timings scale with the CPU it gets)."""
    origin = str(server.make_url("")).rstrip("/")
    await audit(f"{origin}/")
    officer = await sign_in("officer")
    cookie = officer.client.session.cookie_jar.filter_cookies(server.make_url("/"))[COOKIE]
    await audit(f"{origin}/officer", {"Cookie": f"{COOKIE}={cookie.value}"})
