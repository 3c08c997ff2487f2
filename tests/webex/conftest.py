"""Shared fixtures for the Webex client tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from reconciler.webex import Auth, WebexClient

TOKEN = "tok-SECRET-0123456789abcdef"

Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]
MockFactory = Callable[..., WebexClient]


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def mock_client() -> MockFactory:
    """``mock_client(handler, **kw)``: a client on ``http://api.test/v1`` answered by ``handler``."""

    def make(handler: Handler, **kwargs: Any) -> WebexClient:
        kwargs.setdefault("backoff_base", 0.01)
        auth = kwargs.pop("auth", None) or Auth(TOKEN)
        return WebexClient("http://api.test/v1", auth, transport=httpx.MockTransport(handler), **kwargs)

    return make
