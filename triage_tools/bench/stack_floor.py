"""What the stack itself costs, without the service: `python -m triage_tools.bench.stack_floor`.

A bare aiohttp server (no middlewares, no sessions, nothing of the service) in a child
process, on redis-py with the service's connection options (`store.pool.client_options`):
its CPU for a POST of a small JSON body answered with a small JSON body, with none, one and
two Redis round trips (PING) on the way, and for each WebSocket frame of 440 bytes it sends
to 20 open sockets (back to back, and in bursts of 20 with 4 ms between, as a lifecycle's
fan-out comes). The client is this process; only the server's CPU is counted (/proc, over
thousands of requests so that the kernel's 10 ms ticks are small beside the whole). Needs a
Redis: TRIAGE_REDIS_URL, else redis://127.0.0.1:6379/0 (PING only). Prints one JSON object.

It shows what any lifecycle served by this stack costs at the least: docs/performance.md,
tenth round.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from triage_service.store.pool import WaitWhenFull, client_options
from triage_tools.bench.deployment import die_with_parent, free_port
from triage_tools.bench.figures import cpu_seconds
from triage_tools.bench.listeners import read_all

SOCKETS = 20
FRAME = json.dumps({"type": "request.updated", "request": {"note": "x" * 400}})
REQUESTS = 3000
ROUNDS = 1500
REDIS: web.AppKey[aioredis.Redis] = web.AppKey("redis")


def serve(port: int, redis_url: str) -> None:
    """The bare server: POST /{n} does n PINGs; GET /ws opens a socket; POST /frames sends
    `rounds` rounds of one frame to every socket, `pause` seconds apart."""
    sockets: list[web.WebSocketResponse] = []

    async def pings(request: web.Request) -> web.Response:
        await request.json()
        for _ in range(int(request.match_info["n"])):
            await request.app[REDIS].ping()
        return web.json_response({"ok": True})

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.append(ws)
        async for _ in ws:
            pass
        return ws

    async def frames(request: web.Request) -> web.Response:
        body = await request.json()
        for _ in range(body["rounds"]):
            for ws in sockets:
                await ws.send_str(FRAME)
            await asyncio.sleep(body["pause"])
        return web.json_response({"sent": body["rounds"] * len(sockets)})

    async def connected(app: web.Application) -> Any:
        pool = WaitWhenFull.from_url(redis_url, **client_options())
        app[REDIS] = aioredis.Redis(connection_pool=pool)
        yield
        await app[REDIS].aclose()

    app = web.Application()
    app.cleanup_ctx.append(connected)
    app.router.add_post(r"/{n:\d}", pings)
    app.router.add_get("/ws", socket)
    app.router.add_post("/frames", frames)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def measure(pid: int, base: str) -> dict[str, Any]:
    """The server's CPU per request and per frame, in microseconds."""
    found: dict[str, Any] = {}
    async with aiohttp.ClientSession(base) as http:

        async def post(pings: int, times: int) -> None:
            for _ in range(times):
                async with http.post(f"/{pings}", json={"a": 1}) as r:
                    await r.read()

        for pings in (0, 1, 2):
            await post(pings, 300)  # warm-up
            before = cpu_seconds(pid)
            await post(pings, REQUESTS)
            found[f"post_{pings}_redis_us"] = round((cpu_seconds(pid) - before) / REQUESTS * 1e6, 1)
        sockets = [await http.ws_connect("/ws") for _ in range(SOCKETS)]
        readers = [asyncio.create_task(read_all(ws)) for ws in sockets]
        for label, pause in (("frame_back_to_back_us", 0.0), ("frame_in_bursts_us", 0.004)):
            before = cpu_seconds(pid)
            async with http.post("/frames", json={"rounds": ROUNDS, "pause": pause}) as r:
                sent = (await r.json())["sent"]
            found[label] = round((cpu_seconds(pid) - before) / sent * 1e6, 2)
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers)
    return found


async def run(redis_url: str) -> dict[str, Any]:
    """Start the bare server, measure it, stop it."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "triage_tools.bench.stack_floor", "serve", str(port), redis_url),
        preexec_fn=die_with_parent,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.post(f"{base}/0", json={}) as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        started = time.perf_counter()
        found = await measure(server.pid, base)
        found["elapsed_s"] = round(time.perf_counter() - started, 1)
        return found
    finally:
        server.terminate()
        await server.wait()


def main() -> None:
    """`serve PORT REDIS_URL` (the child), or measure and print the JSON."""
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]), sys.argv[3])
        return
    url = os.environ.get("TRIAGE_REDIS_URL", "redis://127.0.0.1:6379/0")
    print(json.dumps(asyncio.run(run(url)), indent=2))


if __name__ == "__main__":
    main()
