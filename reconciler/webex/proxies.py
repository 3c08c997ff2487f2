"""Which proxy, if any, a request to an origin goes through, from the environment.

The rules are the usual ones (curl, urllib, httpx):

- ``https_proxy`` for an https origin, ``http_proxy`` for an http one, else ``all_proxy``; each
  in lower case first, then upper case. No other variable matters (``FTP_PROXY`` does not);
- ``no_proxy`` (comma-separated host names, which cover their subdomains, IP addresses and
  networks, each with an optional ``:port``, or ``*``) sends a matching origin directly;
- a value without a scheme (``proxy.example.com:3128``) is an http proxy;
- only ``http://`` and ``https://`` proxies are supported: any other scheme (``socks5://``) is a
  ``ConfigError`` naming the variable, before anything is sent;
- credentials in the proxy URL (``http://user:secret@proxy:3128``) are sent to the proxy
  (``Proxy-Authorization``); they are registered as secrets and never shown (``Proxy.shown``).

The transport (``webex/transport.py``) hands the proxy to aiohttp, which tunnels https through it
(``CONNECT``) and forwards plain http.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import ProxyConfigError as ProxyConfigError
from reconciler.webex.redact import register_secret

SUPPORTED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Proxy:
    url: str  # as given to aiohttp (credentials included)
    shown: str  # scheme://host:port, what messages show
    variable: str  # the environment variable it came from

    def describe(self) -> str:
        return f"the proxy {self.shown} (from {self.variable})"


def _variable(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """``(variable, value)`` of ``name`` in lower case, else upper case, when set and not empty."""
    for key in (name.lower(), name.upper()):
        value = environ.get(key, "").strip()
        if value:
            return key, value
    return None


def _bypassed(host: str, port: int, environ: Mapping[str, str]) -> bool:
    found = _variable(environ, "no_proxy")
    return found is not None and any(_matches(entry, host, port) for entry in found[1].split(","))


def _matches(entry: str, host: str, port: int) -> bool:
    """Whether one ``no_proxy`` entry covers ``host:port``: ``*``; a host name, which also covers
    its subdomains (a leading ``.`` or ``*.`` changes nothing); an IP address or an IP network
    (``10.0.0.0/8``); any of them with ``:port`` to cover that port only."""
    entry = entry.strip().lower()
    if entry == "*":
        return True
    name, wanted = entry, ""
    if entry.startswith("["):  # [v6 address]:port
        name, _, rest = entry[1:].partition("]")
        wanted = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        name, _, wanted = entry.partition(":")
    if not name or (wanted and wanted != str(port)):
        return False
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None or "/" in name:
        try:
            return address is not None and address in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    name = name.removeprefix("*").lstrip(".").rstrip(".")
    return bool(name) and (host == name or host.endswith("." + name))


def proxy_for(scheme: str, host: str, port: int, environ: Mapping[str, str]) -> Proxy | None:
    """The proxy for ``scheme://host:port``, or None to connect directly."""
    scheme = scheme.lower()
    found = _variable(environ, f"{scheme}_proxy") or _variable(environ, "all_proxy")
    if found is None or _bypassed(host.strip("[]"), port, environ):
        return None
    variable, value = found
    return parse_proxy(variable, value)


def parse_proxy(variable: str, value: str) -> Proxy:
    """The proxy ``value`` of ``variable``, checked (``ProxyConfigError`` when unusable)."""
    text = value if "://" in value else f"http://{value}"
    try:
        parts = urllib.parse.urlsplit(text)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise ProxyConfigError(f"{variable} is not a usable proxy URL: {exc}") from None
    scheme = parts.scheme.lower()
    if parts.password:
        register_secret(parts.password, any_length=True)
    where = f"{scheme}://{host or ''}:{port}" if host else f"{scheme}://"
    if scheme not in SUPPORTED_SCHEMES:
        raise ProxyConfigError(
            f"{variable}={where}: {scheme}:// proxies are not supported "
            "(use an http:// or https:// proxy, or unset the variable)"
        )
    if not host:
        raise ProxyConfigError(f"{variable} names no proxy host")
    shown_host = f"[{host}]" if ":" in host else host
    return Proxy(url=text, shown=f"{scheme}://{shown_host}:{port}", variable=variable)
