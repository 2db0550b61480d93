"""The waiting officers' sockets in a process of their own.

Each waiting officer has a phone of their own; in the benchmark's process, the frames of a
queue broadcast to 200 of them (about 7 ms of reading) queued in front of the measured
frames and were timed as the server's delay (docs/performance.md, ninth round). Here they
are opened and read in a child process:

    python -m triage_tools.bench.listeners BASE_URL

It reads session tokens on stdin, one a line, up to an empty line; opens a `/ws` per token,
prints `ready` once all are open, reads every frame until its stdin closes, then closes them
and exits.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from triage_tools.bench.harness import Pool, bounded

READY = b"ready\n"
ROOT = Path(__file__).resolve().parents[2]


async def read_all(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read (and drop) every frame until the socket closes."""
    async for _ in ws:
        pass


async def serve(base_url: str, tokens: list[str]) -> None:
    """Open a socket per token, say so, and read them all until stdin closes."""
    pool = Pool(base_url)
    try:
        sockets = await bounded(
            32, (pool.session(t).connect_ws(autoclose=True, heartbeat=None) for t in tokens)
        )
        readers = [asyncio.create_task(read_all(ws)) for ws in sockets]
        sys.stdout.buffer.write(READY)
        sys.stdout.buffer.flush()
        await asyncio.to_thread(sys.stdin.buffer.read)  # until the benchmark closes stdin
        await bounded(64, (ws.close() for ws in sockets))
        await asyncio.gather(*readers, return_exceptions=True)
    finally:
        await pool.close()


class Listeners:
    """The child process holding the waiting officers' sockets."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, base_url: str, tokens: list[str]) -> Listeners:
        """Start the child, hand it the tokens, and wait until every socket is open."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            base_url,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(f"{t}\n" for t in [*tokens, ""]).encode())
        await process.stdin.drain()
        if await process.stdout.readline() != READY:
            await process.wait()
            raise RuntimeError(f"the listeners' process exited ({process.returncode})")
        return cls(process)

    async def close(self) -> None:
        """Close stdin: the child closes its sockets and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def main() -> None:
    """Read the tokens (up to an empty line) and serve them."""
    tokens = []
    for line in sys.stdin.buffer:
        if not line.strip():
            break
        tokens.append(line.decode().strip())
    asyncio.run(serve(sys.argv[1], tokens))


if __name__ == "__main__":
    main()
