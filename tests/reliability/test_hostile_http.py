"""Answers broken at the HTTP level, through the CLI: each one is a single clean error naming the
endpoint (``GET /... -> no response: RemoteProtocolError: malformed answer: ...``), exit 1, no
traceback and no "internal error". These are the defects of the hand-written HTTP client the
aiohttp engine (reconciler/webex/transport.py) replaced; tests/webex/test_transport.py has them at
the transport level, with more."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.webex.client import WebexClient

from .conftest import EXAMPLES, record
from .hostile_server import HostileServer, Script, SeenRequest

TOKEN = "hostile-http-token-0123456789"
CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk_size(size: bytes) -> bytes:
    return CHUNKED + size + b"\r\n" + b"a" * 13 + b"\r\n0\r\n\r\n"


def gzipped(body: bytes) -> bytes:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


CASES: list[tuple[str, bytes, str]] = [
    ("chunk size 0x0d", chunk_size(b"0x0d"), "Invalid character in chunk size: b'0x0d'"),
    ("chunk size +d", chunk_size(b"+d"), "Invalid character in chunk size: b'+d'"),
    ("chunk size 0_d", chunk_size(b"0_d"), "Invalid character in chunk size: b'0_d'"),
    ("chunk size with a leading space", chunk_size(b" d"), "Invalid character in chunk size"),
    (
        "an endless trailer line",
        CHUNKED + b"2\r\n{}\r\n0\r\nX-Trailer: " + b"t" * 200_000,
        "Got more than 8190 bytes",
    ),
    (
        "Transfer-Encoding with Content-Length",
        CHUNKED[:-2] + b"Content-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "Content-Length can't be present with Transfer-Encoding",
    ),
    (
        "a 5,000-digit Content-Length",
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"7" * 5000 + b"\r\n\r\n{}",
        "Content-Length overflow",
    ),
    (
        "a corrupt gzip body",
        gzipped(b"\x1f\x8b\x08\x00not-gzip-at-all"),
        "Can not decode content-encoding: gzip",
    ),
    # aiohttp does not notice a gzip stream cut short (it does for deflate): the body is then a
    # prefix of a JSON object, which is never valid JSON, and the answer is refused as such
    (
        "a truncated gzip body",
        gzipped(gzip.compress(b'{"items": []}', mtime=0)[:14]),
        "-> 200: unexpected answer: not valid JSON",
    ),
    ("status 099", b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\n{}", "status 099"),
    ("status 101", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "status 101"),
    ("an unsupported Transfer-Encoding", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}", "gzip"),
    ("not HTTP at all", b"SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_9.6"),
    ("an answer cut short", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", "malformed answer"),
]


@pytest.mark.parametrize(("case", "wire", "says"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_answer_is_one_clean_error_naming_the_endpoint(
    hostile_server: Callable[[Script], HostileServer],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    wire: bytes,
    says: str,
) -> None:
    # retried as any failed GET is, without the real back-off's waits
    monkeypatch.setattr(WebexClient, "_backoff", lambda self, attempt: 0.001)

    def script(request: SeenRequest) -> list[tuple[float, bytes]]:
        return [(0.0, wire)]

    server = hostile_server(script)
    result = CliRunner().invoke(
        main,
        ["plan", str(EXAMPLES), "--base-url", server.url],
        env={"WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1"},
    )
    out = result.output
    assert result.exit_code == 1, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert says in out, out
    if "->" not in says:
        assert "-> no response: RemoteProtocolError: malformed answer: " in out, out
    # one error, naming one of the endpoints asked (the plan's first reads go out together)
    named = {f"{r.method} {r.path.removeprefix('/v1')} -> " for r in server.requests}
    assert out.count(" -> ") == 1 and any(endpoint in out for endpoint in named), out
    assert TOKEN not in out
    record(f"HTTP: {case}", result="one error naming the endpoint (exit 1)", requests=len(server.requests))
