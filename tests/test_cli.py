"""The `triage-service` command: accounts, usage errors, and serving with the embedded Redis."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import aiohttp

from support.commands import (
    Server,
    add_user,
    alive,
    answers,
    clean_env,
    redis_children,
    run,
    start_serve,
)


def error_lines(stderr: str) -> list[str]:
    """The lines of stderr that are not log records."""
    log_record = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
    return [line for line in stderr.splitlines() if line.strip() and not log_record.match(line)]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    """A bad flag, role or TRIAGE_* value exits 2 with a single clear line on stderr."""
    env = {**clean_env(), "TRIAGE_PORT": "abc"}
    bad_port, bad_role, bad_env, bad_targets = await asyncio.gather(
        run("serve", "--port", "abc"),
        add_user(tmp_path, "bob", role="wizard"),
        run("serve", env=env),
        run("serve", "--response-targets-h", "B:4"),
    )
    for status, out, err in (bad_port, bad_role, bad_env, bad_targets):
        assert status == 2, (status, out, err)
        assert len(error_lines(err)) == 1, err
        assert out == ""
    assert "--port" in bad_port[2] and "'abc'" in bad_port[2]
    assert "wizard" in bad_role[2] and "officer" in bad_role[2]
    assert "port must be a number" in bad_env[2]
    assert "response_targets_h" in bad_targets[2]
    assert not (tmp_path / "redis.sock").exists()


async def test_user_add_twice_fails_clearly(tmp_path: Path) -> None:
    """Adding the same username twice fails the second time with a clear message."""
    status, out, err = await add_user(tmp_path, "alice")
    assert status == 0, err
    assert "created officer alice" in out
    (status, out, err), (short, _, short_err) = await asyncio.gather(
        add_user(tmp_path, "ALICE", role="clinician"),
        add_user(tmp_path / "other", "carol", password="short"),
    )
    assert status != 0
    assert error_lines(err) == ["triage-service: user 'ALICE' already exists"], err
    assert short != 0 and "at least 12 characters" in short_err
    assert not await answers(tmp_path / "redis.sock"), "user add leaves no server running"


async def test_serve_embedded_redis_demo_accounts_and_restart(
    tmp_path: Path, serving: list[Server]
) -> None:
    """Serve starts its own Redis, prints demo accounts, stops Redis on SIGTERM, keeps data."""
    data_dir = tmp_path / "var"
    redis_socket = data_dir / "redis.sock"
    first = await start_serve(serving, data_dir, "--demo-accounts")
    accounts = first.demo_accounts()
    assert set(accounts) == {"officer", "clinician", "supervisor"}, first.lines
    assert await answers(redis_socket)
    [redis_pid] = redis_children(first.process.pid)
    base = f"http://127.0.0.1:{first.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200 and await r.json() == {
                "status": "ok",
                "redis": "ok",
                "embedded_redis": {
                    "running": True,
                    "restarts": 0,
                    "last_exit_status": None,
                    "last_exit_at": None,
                },
            }
        async with http.post(
            f"{base}/api/v1/login", json={"username": "officer", "password": accounts["officer"]}
        ) as r:
            assert r.status == 200
            assert (await r.json())["user"]["role"] == "officer"

    assert await first.stop() == 0
    assert not await answers(redis_socket), "SIGTERM stops the embedded Redis"
    assert not alive(redis_pid)

    second = await start_serve(serving, data_dir, "--demo-accounts")
    assert second.demo_accounts() == {}, "demo accounts are made only on an empty store"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{second.port}/api/v1/login",
            json={"username": "clinician", "password": accounts["clinician"]},
        ) as r,
    ):
        assert r.status == 200, "accounts survive the restart"
    assert await second.stop() == 0
    assert not await answers(redis_socket)

    status, _, err = await add_user(data_dir, "officer")
    assert status != 0 and "already exists" in err


async def test_user_add_receiver_with_a_team(tmp_path: Path) -> None:
    """`user add NAME --role receiver --team SERVICE:BOARD` creates a team member; a receiver
    without a team or with an unknown service or board fails with one clear line, before any
    store is opened (its data directory's embedded Redis is never started)."""

    async def receiver(name: str, *team: str, data: Path = tmp_path) -> tuple[int, str, str]:
        return await run(
            "user", "add", name, "--role", "receiver", *team, "--password-stdin",
            "--data-dir", str(data), stdin="correct horse battery\n",
        )  # fmt: skip

    status, out, err = await receiver("crisis1", "--team", "crisis_team:default")
    assert status == 0, err
    assert "created receiver crisis1 in team crisis_team:default" in out
    untouched = tmp_path / "untouched"
    for team, problem in (
        ((), "needs --team"),
        (("--team", "plumbers:default"), "unknown service 'plumbers'"),
        (("--team", "cmht:atlantis"), "unknown board 'atlantis'"),
    ):
        status, _, err = await receiver("other", *team, data=untouched)
        assert status == 1 and len(error_lines(err)) == 1 and problem in err, err
        assert not untouched.exists() or not any(untouched.iterdir())
