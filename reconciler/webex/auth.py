"""Credentials: a bearer token from the environment or a file, and OAuth refresh.

The token lives in a ``Secret`` (never shown by ``repr``/``str``) and is registered for redaction,
so neither logs nor error messages can carry it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from reconciler.errors import ApiError, ConfigError
from reconciler.localfiles import read_local
from reconciler.webex.redact import LOGGER_NAME, Secret
from reconciler.webex.untrusted import api_text, parse_json

log = logging.getLogger(LOGGER_NAME)

ENV_TOKEN = "WEBEX_ACCESS_TOKEN"
ENV_CLIENT_ID = "WEBEX_CLIENT_ID"
ENV_CLIENT_SECRET = "WEBEX_CLIENT_SECRET"
ENV_REFRESH_TOKEN = "WEBEX_REFRESH_TOKEN"
_REFRESH_VARS = (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_REFRESH_TOKEN)

_REFRESH_ATTEMPTS = 3


class Auth:
    """A bearer token, optionally refreshable through OAuth (integrations and service apps).

    ``token`` is the current access token (None until the first refresh when only refresh
    credentials were given). ``refresh()`` is single-flight: concurrent callers that saw the same
    stale token cause one refresh between them.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        source: str = "explicit",
    ) -> None:
        if token:
            check_token(token, f"the access token ({source})" if source != "explicit" else "the access token")
        self._token = Secret(token) if token else None
        self._client_id = client_id
        self._client_secret = Secret(client_secret) if client_secret else None
        self._refresh_token = Secret(refresh_token) if refresh_token else None
        self.source = source
        self.refreshes = 0
        self._lock = asyncio.Lock()
        if self._token is None and not self.can_refresh:
            raise ConfigError(_NO_CREDENTIALS)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, token_file: str | None = None, environ: Mapping[str, str] = os.environ) -> Auth:
        """Credentials from ``--token-file`` (first), ``WEBEX_ACCESS_TOKEN``, and refresh variables.

        Raises ConfigError, naming what is missing, when there is nothing to authenticate with.
        """
        token: str | None = None
        source = ""
        if token_file:
            token = _read_token_file(token_file)
            source = f"file {token_file}"
        elif environ.get(ENV_TOKEN, "").strip():
            token = environ[ENV_TOKEN].strip()
            source = f"env {ENV_TOKEN}"
        present = [v for v in _REFRESH_VARS if environ.get(v, "").strip()]
        if present and len(present) != len(_REFRESH_VARS):
            missing = ", ".join(v for v in _REFRESH_VARS if v not in present)
            raise ConfigError(f"OAuth refresh needs {', '.join(_REFRESH_VARS)} together; missing: {missing}")
        refresh = {v: environ[v].strip() for v in present}
        if token is None and not refresh:
            raise ConfigError(_NO_CREDENTIALS)
        if not source:
            source = "OAuth refresh token"
        elif refresh:
            source += " (+ OAuth refresh)"
        return cls(
            token,
            client_id=refresh.get(ENV_CLIENT_ID),
            client_secret=refresh.get(ENV_CLIENT_SECRET),
            refresh_token=refresh.get(ENV_REFRESH_TOKEN),
            source=source,
        )

    # -- state ----------------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The current access token (keep it out of anything printed)."""
        return self._token.get() if self._token else None

    @property
    def can_refresh(self) -> bool:
        return bool(self._client_id and self._client_secret and self._refresh_token)

    def __repr__(self) -> str:
        token = "<redacted>" if self._token else "None"
        return f"Auth(source={self.source!r}, token={token}, refresh={self.can_refresh})"

    __str__ = __repr__

    # -- refresh --------------------------------------------------------------------------------

    async def ensure_token(self, http: httpx.AsyncClient, base_url: str) -> str:
        """The current token, obtaining one by refresh first if there is none yet."""
        if self._token is None:
            await self.refresh(http, base_url, stale=None)
        assert self._token is not None
        return self._token.get()

    async def refresh(self, http: httpx.AsyncClient, base_url: str, stale: str | None) -> bool:
        """Refresh the token unless another task already replaced ``stale``; True if a new token
        is available, False if these credentials cannot refresh."""
        if not self.can_refresh:
            return False
        async with self._lock:
            current = self.token
            if current is not None and current != stale:
                return True  # someone else refreshed while we waited for the lock
            await self._do_refresh(http, base_url.rstrip("/") + "/access_token")
            return True

    async def _do_refresh(self, http: httpx.AsyncClient, url: str) -> None:
        assert self._client_id and self._client_secret and self._refresh_token
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get(),
            "refresh_token": self._refresh_token.get(),
        }
        path = "/access_token"
        last: ApiError | None = None
        for attempt in range(1, _REFRESH_ATTEMPTS + 1):
            try:
                resp = await http.post(url, data=form, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                last = ApiError(
                    "POST", path, None, f"token refresh failed: {type(exc).__name__}", None, attempt
                )
                await asyncio.sleep(0.2 * attempt)
                continue
            if resp.status_code in (429, 500, 502, 503, 504):
                last = ApiError("POST", path, resp.status_code, "token refresh failed", None, attempt)
                await asyncio.sleep(_retry_after(resp, 0.2 * attempt))
                continue
            if not 200 <= resp.status_code < 300:  # a redirect is not followed, nor success
                raise ApiError(
                    "POST",
                    path,
                    resp.status_code,
                    api_text(f"token refresh failed: {_message(resp)}; check {', '.join(_REFRESH_VARS)}"),
                    api_text(resp.headers.get("TrackingID") or "", 120) or None,
                    attempt,
                )
            body = _json(resp)
            access = body.get("access_token")
            if not isinstance(access, str) or not access:
                raise ApiError("POST", path, resp.status_code, "token refresh answered without access_token")
            try:
                check_token(access, "the refreshed access token")
            except ConfigError as exc:
                raise ApiError("POST", path, resp.status_code, str(exc)) from None
            self._token = Secret(access)
            new_refresh = body.get("refresh_token")
            if isinstance(new_refresh, str) and new_refresh:
                self._refresh_token = Secret(new_refresh)
            self.refreshes += 1
            log.info("access token refreshed (expires in %s s)", body.get("expires_in", "?"))
            return
        assert last is not None
        raise last


_NO_CREDENTIALS = (
    f"no Webex credentials: set {ENV_TOKEN}, pass --token-file FILE, or set "
    f"{ENV_CLIENT_ID}, {ENV_CLIENT_SECRET} and {ENV_REFRESH_TOKEN} for OAuth refresh"
)


def check_token(token: str, what: str) -> None:
    """Refuse a token that cannot go into an ``Authorization`` header, without ever showing it:
    a line break (it would end the header: a pasted token with a trailing CR/LF inside quotes, or
    two lines) or another control or blank character, or a character outside ASCII."""
    for index, char in enumerate(token, 1):
        if not char.isascii():
            raise ConfigError(
                f"{what} has a non-ASCII character (at position {index} of {len(token)}); a Webex "
                "token is plain ASCII: copy it again from the developer portal or Control Hub"
            )
        if not "!" <= char <= "~":
            kind = "a line break" if char in "\r\n" else "a blank or control character"
            raise ConfigError(
                f"{what} contains {kind} (at position {index} of {len(token)}); refusing to send it: "
                "set the token alone, on one line"
            )


def _read_token_file(path: str) -> str:
    # a regular file of at most 64 KiB: never a FIFO, /dev/zero or a symlink to either
    data = read_local(Path(path).expanduser(), "token file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"token file {path} is not text (a Webex token is plain ASCII)") from None
    token = text.strip()
    if not token:
        raise ConfigError(f"token file {path} is empty")
    if any(c.isspace() for c in token):
        raise ConfigError(f"token file {path} must hold just the token (found more than one word)")
    return token


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = parse_json(resp.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _message(resp: httpx.Response) -> str:
    body = _json(resp)
    for key in ("message", "error_description", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return resp.reason_phrase or "error"


def _retry_after(resp: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", default)))
    except ValueError:
        return default
