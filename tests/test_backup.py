"""The backup and restore of docs/operations.md, step by step: requests, outcomes and
referrals made through the API on a Redis with AOF; BGREWRITEAOF and BGSAVE; the files
copied; a fresh redis-server started from the copies; every record read back through the
app, equal."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import private_redis
import pytest
import redis
from aiohttp.test_utils import TestServer

from conftest import OUTCOME_FORM, ApiClient, create_account, log_in
from triage_client.call_flow import accept, file_outcome, raise_request
from triage_client.forms import request_form
from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.settings import Settings
from triage_service.web.app import create_app

PREFIX = "triage:"
DURABLE = ("--appendonly", "yes", "--appendfsync", "everysec")


def wait_until_idle(client: redis.Redis, flag: str) -> None:
    """Step 1 of the guide: poll INFO persistence until `flag` is 0 (the rewrite or the
    save has finished)."""
    deadline = time.monotonic() + 30
    while client.info("persistence")[flag]:
        assert time.monotonic() < deadline, flag
        time.sleep(0.05)


def back_up(port: int, into: Path) -> None:
    """Steps 1-2 of the guide: BGREWRITEAOF and BGSAVE, each waited for, then the AOF
    directory and the RDB file copied out of Redis's `dir`."""
    client = redis.Redis(port=port, decode_responses=True)
    try:
        wait_until_idle(client, "aof_rewrite_in_progress")
        client.bgrewriteaof()
        wait_until_idle(client, "aof_rewrite_scheduled")
        wait_until_idle(client, "aof_rewrite_in_progress")
        client.bgsave()
        wait_until_idle(client, "rdb_bgsave_in_progress")
        source = Path(str(client.config_get("dir")["dir"]))
        aof_dir = str(client.config_get("appenddirname")["appenddirname"])
        rdb = str(client.config_get("dbfilename")["dbfilename"])
    finally:
        client.close()
    into.mkdir(parents=True)
    shutil.copytree(source / aof_dir, into / aof_dir)
    shutil.copy2(source / rdb, into / rdb)


class Deployment:
    """One app on a real server against a Redis on `port`; accounts signed in on demand."""

    def __init__(self, port: int) -> None:
        url = f"redis://127.0.0.1:{port}/0"
        self.server = TestServer(create_app(Settings(redis_url=url, key_prefix=PREFIX)))
        self.clients: list[ApiClient] = []

    async def start(self) -> None:
        """Start the server."""
        await self.server.start_server()

    async def as_user(self, user: User) -> ApiClient:
        """A client signed in as `user`."""
        api = await log_in(self.server, user)
        self.clients.append(api)
        return api

    async def close(self) -> None:
        """Close the clients and the server."""
        for api in self.clients:
            await api.client.close()
        await self.server.close()


@pytest.fixture
async def deployments() -> AsyncIterator[list[Deployment]]:
    """The deployments a test starts, closed afterwards."""
    found: list[Deployment] = []
    yield found
    for deployment in found:
        await deployment.close()


async def make_history(deployment: Deployment) -> dict[str, User]:
    """Accounts, and requests through the API: two completed (one with a referral, one
    completed as a referral later), one cancelled, one in session, one waiting."""
    app = deployment.server.app
    users = {
        role.value: await create_account(app, role)
        for role in (Role.OFFICER, Role.CLINICIAN, Role.SUPERVISOR)
    }
    officer = await deployment.as_user(users["officer"])
    clinician = await deployment.as_user(users["clinician"])
    await clinician.request("PUT", "/api/v1/availability", {"status": "available"})
    for _ in range(2):
        created = await raise_request(officer, request_form())
        await accept(clinician, created["id"])
        await file_outcome(clinician, created["id"], OUTCOME_FORM)
    open_referrals = await clinician.request("GET", "/api/v1/referrals?status=open")
    first = open_referrals["referrals"][0]["id"]
    await clinician.request("PATCH", f"/api/v1/referrals/{first}", {"status": "completed"})
    cancelled = await raise_request(officer, request_form())
    await officer.request("POST", f"/api/v1/requests/{cancelled['id']}/cancel")
    await accept(clinician, (await raise_request(officer, request_form()))["id"])
    await raise_request(officer, request_form())
    return users


async def read_back(deployment: Deployment, users: dict[str, User]) -> dict[str, Any]:
    """Everything the app shows of the history: each request as its officer sees it (with
    its outcome), the clinician's requests and referrals, the supervisor's statistics."""
    officer = await deployment.as_user(users["officer"])
    clinician = await deployment.as_user(users["clinician"])
    supervisor = await deployment.as_user(users["supervisor"])
    mine = await officer.request("GET", "/api/v1/requests")
    ids = [r["id"] for r in mine["requests"]]
    stats = await supervisor.request("GET", "/api/v1/stats")
    return {
        "list": mine,
        "requests": [await officer.request("GET", f"/api/v1/requests/{i}") for i in ids],
        "referrals": await clinician.request("GET", "/api/v1/referrals?status=all"),
        "counts": stats["window"]["requests"],
    }


@pytest.mark.parametrize("restore_from", ["aof", "rdb"])
async def test_backup_restores_every_record(
    tmp_path: Path, deployments: list[Deployment], restore_from: str
) -> None:
    """A backup taken as the guide says, restored into a fresh redis-server (from the AOF
    directory, or from the RDB file alone), shows every request, outcome and referral as
    the original did."""
    process, port = private_redis.start(tmp_path / "live", *DURABLE)
    try:
        original = Deployment(port)
        deployments.append(original)
        await original.start()
        users = await make_history(original)
        before = await read_back(original, users)
        assert len(before["requests"]) == 5 and before["counts"] == 5
        back_up(port, tmp_path / "backup")
    finally:
        private_redis.stop(process)
    restored_dir = tmp_path / "restored"
    shutil.copytree(tmp_path / "backup", restored_dir)
    if restore_from == "rdb":
        shutil.rmtree(restored_dir / "appendonlydir")
        args: tuple[str, ...] = ("--appendonly", "no")
    else:
        (restored_dir / "dump.rdb").unlink()
        args = DURABLE
    process, port = private_redis.start(restored_dir, *args)
    try:
        restored = Deployment(port)
        deployments.append(restored)
        await restored.start()
        after = await read_back(restored, users)
        assert after == before
        completed = [r for r in after["requests"] if r["status"] == "completed"]
        assert len(completed) == 2 and all(r["outcome"]["disposition"] for r in completed)
        assert len(after["referrals"]["referrals"]) == 2
    finally:
        private_redis.stop(process)
