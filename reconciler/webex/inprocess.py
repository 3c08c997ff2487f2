"""A transport that serves requests from an ASGI app in this process (the embedded simulator)."""

from __future__ import annotations

from typing import Any

import httpx


def in_process_transport(app: Any) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=app)
