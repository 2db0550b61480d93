"""Data at rest: the embedded Redis keeps its directory and files owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import redis.asyncio as aioredis

from triage_service.store.embedded import EmbeddedRedis


async def test_data_dir_and_aof_files_are_owner_only(tmp_path: Path) -> None:
    """After a start and a write, the data directory (even one made world-readable before)
    is 0700 and every AOF file in it 0600."""
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    (data_dir / "old.log").write_text("left from before")
    (data_dir / "old.log").chmod(0o644)
    embedded = EmbeddedRedis(data_dir)
    url = await embedded.start()
    try:
        client = aioredis.Redis.from_url(url)
        await client.set("k", "v")
        await client.aclose()
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        files = [p for p in data_dir.rglob("*") if p.is_file()]
        assert any("aof" in p.name for p in files), files
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        for path in (p for p in data_dir.rglob("*") if p.is_dir()):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    finally:
        await embedded.stop()
