"""aiohttp without the two TLS contexts it makes at import, imported first by the engine transport.

``aiohttp.connector`` makes a verifying and a non-verifying ``ssl.SSLContext`` when it is imported,
each loading the system's CA certificates: 40-70 ms of every run's start-up, for contexts the engine
never uses (it hands aiohttp its own context for every https origin, made on first use as httpx
makes it: ``transport.EngineTransport.ssl_context``; plain http needs none). While aiohttp is first
imported here, a context made without a CA file takes the place of the default one: it still
verifies certificates and host names, against no CA at all, so any use of it fails closed (a
certificate error, never a connection without verification). Nothing else changes in ``ssl``, and
only for that import: an aiohttp imported before this module keeps its own contexts.
"""

from __future__ import annotations

import ssl
import sys
from typing import Any

if "aiohttp" not in sys.modules:
    _create_default_context = ssl.create_default_context
    _own = ssl.SSLContext.__dict__.get("set_default_verify_paths")  # (usually inherited: None)

    def _without_cas(purpose: Any = ssl.Purpose.SERVER_AUTH, **given: Any) -> ssl.SSLContext:
        if purpose is not ssl.Purpose.SERVER_AUTH or any(given.values()):
            return _create_default_context(purpose, **given)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies (CERT_REQUIRED, host names)

    def _no_paths(self: ssl.SSLContext) -> None:
        return None

    ssl.create_default_context = _without_cas
    ssl.SSLContext.set_default_verify_paths = _no_paths  # type: ignore[method-assign]
    try:
        import aiohttp  # noqa: F401
    finally:
        ssl.create_default_context = _create_default_context
        if _own is None:
            del ssl.SSLContext.set_default_verify_paths
        else:
            ssl.SSLContext.set_default_verify_paths = _own  # type: ignore[method-assign]
