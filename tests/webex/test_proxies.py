"""Proxies from the environment (reconciler/webex/proxies.py), through a local proxy in the suite:
https tunnelled (CONNECT), plain http forwarded, only the variables that apply to the scheme,
``no_proxy``, credentials, and clean errors for a proxy that cannot be reached, refuses the tunnel
or is of a kind that is not supported."""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.errors import ConfigError
from reconciler.webex import Auth, WebexApiError, WebexClient
from reconciler.webex.proxies import ProxyConfigError, _matches, proxy_for

from .test_transport import Server, answer, serving

TOKEN = "proxy-test-token-0123456789"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def tls(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server side of TLS with the suite's certificate, which the client trusts (SSL_CERT_FILE)."""
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class LocalProxy:
    """An HTTP proxy: tunnels ``CONNECT host:port``, forwards absolute-form requests (rewritten to
    origin form), or answers every request with ``refuse``."""

    refuse: bytes | None = None
    seen: list[str] = field(default_factory=list)  # request lines
    credentials: list[str] = field(default_factory=list)  # Proxy-Authorization values
    port: int = 0
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.split(b"\r\n")
        self.seen.append(lines[0].decode("latin-1"))
        self.credentials += [
            line.split(b":", 1)[1].strip().decode()
            for line in lines
            if line.lower().startswith(b"proxy-authorization:")
        ]
        if self.refuse is not None:
            writer.write(self.refuse)
            await writer.drain()
            writer.close()
            return
        method, target, _ = lines[0].split(b" ", 2)
        if method == b"CONNECT":
            host, _, port = target.decode().rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urllib.parse.urlsplit(target.decode())
            up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
            origin = parts.path + (f"?{parts.query}" if parts.query else "")
            kept = [line for line in lines[1:] if not line.lower().startswith(b"proxy-")]
            up_writer.write(method + b" " + origin.encode() + b" HTTP/1.1\r\n" + b"\r\n".join(kept))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        sink.close()


@asynccontextmanager
async def proxying(proxy: LocalProxy, tls: ssl.SSLContext | None = None) -> AsyncIterator[LocalProxy]:
    """``proxy`` listening on the loopback (an https:// proxy with ``tls``)."""
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, ssl=tls)
    proxy.port = listener.sockets[0].getsockname()[1]
    proxy.scheme = "https" if tls is not None else "http"
    try:
        yield proxy
    finally:
        listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def fetch(base: str, path: str = "/devices") -> dict[str, object]:
    async with WebexClient(base + "/v1", Auth(TOKEN), backoff_base=0.01) as client:
        resp = await client.request("GET", path)
        return dict(resp.json())


def ok_server() -> Server:
    return Server(lambda head, body, n: answer(b'{"n": %d}' % n))


# -- through the proxy ---------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
async def test_https_is_tunnelled_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext, variable: str
) -> None:
    """The scheme's own variable, or ALL_PROXY when the scheme has none."""
    async with serving(ok_server(), tls) as srv, proxying(LocalProxy()) as proxy:
        monkeypatch.setenv(variable, proxy.url)
        assert await fetch(srv.url) == {"n": 1}
    assert proxy.seen == [f"CONNECT 127.0.0.1:{srv.port} HTTP/1.1"]
    assert srv.requests[0].startswith(b"GET /v1/devices HTTP/1.1\r\n")
    assert f"Authorization: Bearer {TOKEN}".encode() in srv.requests[0]  # inside the tunnel only


async def test_an_https_proxy_is_spoken_to_over_tls(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext
) -> None:
    """TLS to the proxy, and inside it the tunnel's own TLS to the API (each certificate checked)."""
    async with serving(ok_server(), tls) as srv, proxying(LocalProxy(), tls) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        assert await fetch(srv.url) == {"n": 1}
    assert proxy.url.startswith("https://") and proxy.seen == [f"CONNECT 127.0.0.1:{srv.port} HTTP/1.1"]


async def test_plain_http_is_forwarded_by_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(ok_server()) as srv, proxying(LocalProxy()) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        assert await fetch(srv.url) == {"n": 1}
    assert proxy.seen == [f"GET {srv.url}/v1/devices HTTP/1.1"]
    assert srv.requests[0].startswith(b"GET /v1/devices HTTP/1.1\r\n")


async def test_credentials_in_the_proxy_url_are_sent_to_the_proxy_only(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext
) -> None:
    async with serving(ok_server(), tls) as srv, proxying(LocalProxy()) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://robot:pr0xy-s3cret@127.0.0.1:{proxy.port}")
        assert await fetch(srv.url) == {"n": 1}
    assert proxy.credentials == ["Basic " + base64.b64encode(b"robot:pr0xy-s3cret").decode()]
    assert b"pr0xy-s3cret" not in srv.requests[0] and b"Proxy-Authorization" not in srv.requests[0]


# -- variables that do not apply -----------------------------------------------------------------


async def test_only_the_variables_for_the_scheme_apply(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext
) -> None:
    """A proxy nobody can reach in every variable that does not apply: the requests go direct."""
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("FTP_PROXY", dead)
    monkeypatch.setenv("ftp_proxy", dead)
    monkeypatch.setenv("HTTP_PROXY", dead)  # not for https
    async with serving(ok_server(), tls) as srv:
        assert await fetch(srv.url) == {"n": 1}
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("HTTPS_PROXY", dead)  # not for http
    async with serving(ok_server()) as srv:
        assert await fetch(srv.url) == {"n": 1}


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.0/8", "example.com, 127.0.0.1"])
async def test_no_proxy_sends_matching_hosts_direct(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext, no_proxy: str
) -> None:
    async with serving(ok_server(), tls) as srv, proxying(LocalProxy()) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        assert await fetch(srv.url) == {"n": 1}
    assert proxy.seen == []


# -- clean errors --------------------------------------------------------------------------------


async def test_a_proxy_that_cannot_be_reached_is_named(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext
) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://robot:pr0xy-s3cret@127.0.0.1:{port}")
    async with serving(ok_server(), tls) as srv:
        with pytest.raises(WebexApiError) as caught:
            await fetch(srv.url)
    text = str(caught.value)
    assert text.startswith("GET /devices -> no response: ConnectError: "), text
    assert f"cannot reach the proxy http://127.0.0.1:{port} (from HTTPS_PROXY)" in text
    assert "pr0xy-s3cret" not in text and not caught.value.ambiguous
    assert srv.requests == []


async def test_a_proxy_refusing_the_tunnel_is_named(
    monkeypatch: pytest.MonkeyPatch, tls: ssl.SSLContext
) -> None:
    refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    async with serving(ok_server(), tls) as srv, proxying(LocalProxy(refuse=refusal)) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        with pytest.raises(WebexApiError) as caught:
            await fetch(srv.url)
    text = str(caught.value)
    assert f"the proxy {proxy.url} (from https_proxy) refused the tunnel to 127.0.0.1:{srv.port}: 407" in text
    assert "GET /devices" in text and srv.requests == []


@pytest.mark.parametrize(
    "value", ["socks5://127.0.0.1:1080", "socks5h://proxy.example.com", "ftp://proxy:21"]
)
def test_an_unsupported_proxy_scheme_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ALL_PROXY", value)
    with pytest.raises(ConfigError) as caught:
        WebexClient("https://webexapis.com/v1", Auth(TOKEN))
    scheme = value.split("://")[0]
    assert f"ALL_PROXY={scheme}://" in str(caught.value) and f"{scheme}:// proxies are not supported" in str(
        caught.value
    )


def test_an_unsupported_proxy_is_refused_by_the_cli_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = CliRunner().invoke(
        main,
        ["plan", str(EXAMPLES), "--base-url", "https://127.0.0.1:9/v1"],
        env={"WEBEX_ACCESS_TOKEN": TOKEN, "ALL_PROXY": "socks5://user:s0cks-pass@127.0.0.1:1080"},
    )
    assert result.exit_code == 1, result.output
    assert "ALL_PROXY=socks5://127.0.0.1:1080: socks5:// proxies are not supported" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "s0cks-pass" not in result.output


def test_an_unreachable_proxy_from_the_cli_names_the_proxy_and_the_endpoint() -> None:
    port = closed_port()
    result = CliRunner().invoke(
        main,
        ["plan", str(EXAMPLES), "--base-url", "https://127.0.0.1:9/v1"],
        env={"WEBEX_ACCESS_TOKEN": TOKEN, "HTTPS_PROXY": f"127.0.0.1:{port}"},
    )
    assert result.exit_code == 1, result.output
    assert f"cannot reach the proxy http://127.0.0.1:{port} (from HTTPS_PROXY)" in result.output
    assert "-> no response: ConnectError" in result.output and "Traceback" not in result.output


# -- the rules, unit by unit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "host", "port", "covered"),
    [
        ("*", "webexapis.com", 443, True),
        ("webexapis.com", "webexapis.com", 443, True),
        ("webexapis.com", "api.webexapis.com", 443, True),
        (".webexapis.com", "api.webexapis.com", 443, True),
        ("*.webexapis.com", "api.webexapis.com", 443, True),
        ("webexapis.com", "notwebexapis.com", 443, False),
        ("webexapis.com:443", "webexapis.com", 443, True),
        ("webexapis.com:8443", "webexapis.com", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("10.0.0.0/8", "webexapis.com", 443, False),
        ("::1", "::1", 443, True),
        ("[::1]:443", "::1", 443, True),
        ("[::1]:80", "::1", 443, False),
        ("127.0.0.1", "127.0.0.1", 8080, True),
        ("", "webexapis.com", 443, False),
        ("not/a/network", "10.1.2.3", 443, False),
    ],
)
def test_no_proxy_entries(entry: str, host: str, port: int, covered: bool) -> None:
    assert _matches(entry, host, port) is covered


def test_lower_case_variables_win_and_a_bare_host_is_an_http_proxy() -> None:
    env = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "proxy.example.com:3128"}
    found = proxy_for("https", "webexapis.com", 443, env)
    assert found is not None and found.shown == "http://proxy.example.com:3128"
    assert (
        found.variable == "https_proxy"
        and found.describe() == "the proxy http://proxy.example.com:3128 (from https_proxy)"
    )
    assert (
        proxy_for("https", "webexapis.com", 443, {"HTTP_PROXY": "http://p:1", "FTP_PROXY": "http://p:2"})
        is None
    )
    assert proxy_for("http", "127.0.0.1", 80, {"ALL_PROXY": "https://p:8443"}) is not None
    with pytest.raises(ProxyConfigError, match="names no proxy host"):
        proxy_for("https", "webexapis.com", 443, {"HTTPS_PROXY": "http://:3128"})
    with pytest.raises(ProxyConfigError, match="HTTPS_PROXY is not a usable proxy URL"):
        proxy_for("https", "webexapis.com", 443, {"HTTPS_PROXY": "http://[::1"})
