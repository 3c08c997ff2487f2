"""A hostile HTTP server on a loopback socket, for what no well-behaved server (nor the simulator) does:
a body that trickles one byte at a time, a ``Retry-After`` of a day, next-page links without end.

``HostileServer(script)`` listens on 127.0.0.1 (a free port) in a thread of its own, with its own
event loop, so the client under test runs unhindered in the test's loop. For each request it calls
``script(request)``, which returns the answer as a list of ``(delay_s, bytes)``: each part is written
after sleeping its delay. ``answer()`` builds a whole answer; ``trickle()`` one whose body comes a
byte at a time. Every connection is closed after its answer. ``requests`` records what was asked.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Part = tuple[float, bytes]


@dataclass
class SeenRequest:
    method: str
    target: str  # the path with its query, as sent
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Script = Callable[[SeenRequest], list[Part]]


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> list[Part]:
    """A complete JSON answer, sent at once."""
    data = json.dumps(body if body is not None else {}).encode()
    return [(0.0, _head(status, len(data), headers) + data)]


def trickle(body: bytes, every_s: float, status: int = 200) -> list[Part]:
    """The head at once, then the body one byte every ``every_s`` seconds."""
    return [(0.0, _head(status, len(body), None)), *((every_s, body[i : i + 1]) for i in range(len(body)))]


def _head(status: int, length: int, headers: dict[str, str] | None) -> bytes:
    lines = [
        f"HTTP/1.1 {status} Hostile",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HostileServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[SeenRequest] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        assert self._server is not None
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

        self._loop.run_until_complete(start())
        ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(length)
            request = SeenRequest(method, target, headers)
            self.requests.append(request)
            for delay, data in self.script(request):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client hung up: what a hostile server sees all the time
        finally:
            writer.close()

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
