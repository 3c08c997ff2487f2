"""CPU time of the HTTP client per request: N GETs through ``WebexClient`` over a loopback socket.

The server is a trivial ASGI app under uvicorn in a subprocess (its CPU is not counted); only this
process's CPU time (user+sys, ``time.process_time``) is measured, so the numbers hold on a busy
machine where wall time does not. Run from the repository root::

    python benchmarks/client_cpu.py [--requests 5000] [--concurrency 16] [--repeat 3]

Prints the least and the median CPU microseconds per request for ``WebexClient.request`` and, for
reference, for a bare ``aiohttp.ClientSession.get`` (the engine alone: the floor under the client)
and a bare ``httpx.AsyncClient.get`` on the same server.

CPU time on a shared machine moves by a third from minute to minute; instruction counts do not.
``--only client`` (or ``aiohttp``) under callgrind, twice, gives the instructions per request
(the server is a child process, not traced; start-up cancels out)::

    for n in 500 2500; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python benchmarks/client_cpu.py --only client --requests $n --repeat 1; done
    # (instructions "Collected" of the second minus the first) / 2000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.webex import Auth, WebexClient

_SERVER = """
import sys, uvicorn
BODY = b'{"items": [{"id": "D1", "mac": "0A1B2C3D4E01"}]}'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode()),
        (b"trackingid", b"BENCH_1")]})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the benchmark server did not start")


async def _drive(n: int, concurrency: int, one: Callable[[], Awaitable[object]]) -> float:
    """CPU seconds for ``n`` calls of ``one``, ``concurrency`` at a time (after a warm-up)."""
    for _ in range(concurrency):
        await one()
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    start = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - start


async def webex_client(url: str, n: int, concurrency: int) -> float:
    async with WebexClient(url, Auth("bench-token-0123456789"), concurrency=concurrency) as client:
        return await _drive(n, concurrency, lambda: client.request("GET", "/devices"))


async def bare_httpx(url: str, n: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": "Bearer bench"}) as client:
        return await _drive(n, concurrency, lambda: client.get(url + "/devices"))


async def bare_aiohttp(url: str, n: int, concurrency: int) -> float:
    """The floor under ``WebexClient`` while aiohttp carries its requests: ``ClientSession.get``
    and the whole body read, nothing else."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": "Bearer bench"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one() -> bytes:
            async with session.get(url + "/devices") as resp:
                return await resp.read()

        return await _drive(n, concurrency, one)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=("client", "aiohttp", "httpx"),
        help="measure only this one (e.g. under valgrind's callgrind, for instruction counts)",
    )
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)])
    try:
        _wait_listening(port)
        url = f"http://127.0.0.1:{port}/v1"
        measured = (
            ("client", "WebexClient.request", webex_client),
            ("aiohttp", "aiohttp.ClientSession.get (the floor)", bare_aiohttp),
            ("httpx", "httpx.AsyncClient.get", bare_httpx),
        )
        for key, name, fn in measured:
            if args.only and key != args.only:
                continue
            runs = [asyncio.run(fn(url, args.requests, args.concurrency)) for _ in range(args.repeat)]
            best, median = (min(runs) / args.requests * 1e6, statistics.median(runs) / args.requests * 1e6)
            print(
                f"{name}: {best:.0f} us CPU per request at best, {median:.0f} median "
                f"({args.repeat} x {args.requests})"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
