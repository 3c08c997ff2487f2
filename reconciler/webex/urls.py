"""The base URL a client may talk to, and request URLs built on it without a re-parse."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping

import httpx

from reconciler.errors import ConfigError
from reconciler.webex.redact import redact
from reconciler.webex.untrusted import without_userinfo

# Characters a path may hold as they are (RFC 3986 pchar and "/", "%" of an existing escape): a
# path made only of these is placed into the URL without a re-parse (``WebexClient._build_url``).
PLAIN_PATH = re.compile(
    r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:%[0-9A-Fa-f]{2}[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)*"
)  # runs of plain characters between percent escapes (one alternation per character was slow)


def check_base_url(base_url: str, *, injected: bool) -> str:
    """``base_url`` without a trailing slash, or ``ConfigError`` saying what is wrong with it
    (plain http is allowed for loopback hosts, or with an ``injected`` transport: tests)."""
    shown = repr(without_userinfo(base_url.strip()))
    try:
        url = httpx.URL(base_url.strip())
    except Exception as exc:  # httpx.InvalidURL and friends
        raise ConfigError(f"invalid base URL {shown}: {redact(str(exc))}") from None
    if url.userinfo:
        raise ConfigError(
            f"invalid base URL {shown}: it holds a user name or password (not shown); the API "
            "authenticates by token only: remove the user:password@ part"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"invalid base URL {shown}: expected https://host/path")
    if url.query or url.fragment:
        raise ConfigError(f"invalid base URL {shown}: no query or fragment allowed")
    if url.scheme == "http" and not injected and not is_loopback(url.host):
        raise ConfigError(
            f"refusing plain-http base URL {shown}: use https (http is only allowed for "
            "localhost / 127.0.0.0/8 / ::1, e.g. the simulator)"
        )
    return str(url).rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def clean_params(params: Mapping[str, object]) -> dict[str, str]:
    """Query parameters as strings: None dropped, booleans as ``true`` / ``false``."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def url_with(base: httpx.URL, path: str, query: str | None) -> httpx.URL:
    """``base`` with ``path`` (plain: ``PLAIN_PATH``) and an encoded ``query``, without the ~40 us
    re-parse of a URL string (httpx keeps a URL as a parsed reference; only those parts change)."""
    ref = base._uri_reference
    url = httpx.URL.__new__(httpx.URL)
    # (its fields in order, checked by ``fast_urls_work``: ``_replace`` costs three times as much)
    url._uri_reference = type(ref)(ref.scheme, ref.userinfo, ref.host, ref.port, path, query, None)
    return url


def fast_urls_work(base: httpx.URL) -> bool:
    """Whether ``url_with`` gives the very URL httpx's own parsing gives (checked once per client,
    so a change inside httpx falls back to parsing instead of sending a wrong URL)."""
    path = base.raw_path.decode("ascii").rstrip("/") + "/devices/Y2lzY29_-.~%20x/members:a@b;c=d"
    query = urllib.parse.urlencode({"orgId": "O/1+2=3", "max": "1000", "q": "a b&c"})
    try:
        fast = url_with(base, path, query)
        slow = base.copy_with(raw_path=f"{path}?{query}".encode("ascii"))
        return fast == slow and str(fast) == str(slow) and fast.raw_path == slow.raw_path
    except Exception:  # httpx's internals changed: parse every URL instead
        return False


def relative_path(url: httpx.URL, base_path: str) -> str:
    """``url``'s path relative to ``base_path`` (decoded, no trailing slash), without query: what
    errors and logs show."""
    path = url.path
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    return path
