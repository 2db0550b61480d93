"""Sign-in under load: argon2 with the production parameters runs in a pool as wide as the
machine and does not count against the store deadline, so a burst of sign-ins is all 200."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from argon2 import PasswordHasher

from conftest import PASSWORD, create_account, deployment
from triage_service.cpu import run_cpu
from triage_service.domain.codes import Role
from triage_service.web.state import STORE

SIGN_INS = 18


async def test_a_burst_of_sign_ins_with_production_argon2_all_succeed() -> None:
    """18 simultaneous sign-ins against production-cost hashes all answer 200, even with a
    store deadline (here twice one verification) far shorter than the burst's CPU work."""
    hasher = PasswordHasher()  # the service's own parameters
    production_hash = hasher.hash(PASSWORD)
    started = time.perf_counter()
    await run_cpu(hasher.verify, production_hash, PASSWORD)
    one = time.perf_counter() - started
    async with deployment(store_deadline_s=max(2 * one, 0.5)) as running:
        app = running.server.app
        store = app[STORE]
        users = [await create_account(app, Role.OFFICER) for _ in range(SIGN_INS)]
        for user in users:
            await store.client.hset(store.keys.user(user.id), "password_hash", production_hash)
        url = running.server.make_url("/api/v1/login")

        async def sign_in(http: aiohttp.ClientSession, username: str) -> tuple[int, str]:
            async with http.post(url, json={"username": username, "password": PASSWORD}) as r:
                return r.status, r.headers.get("Retry-After", "")

        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
            asyncio.timeout(SIGN_INS * one * 3 + 30),
        ):
            answers = await asyncio.gather(*(sign_in(http, u.username) for u in users))
    assert [status for status, _ in answers] == [200] * SIGN_INS, answers
