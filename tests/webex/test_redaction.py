"""The token never shows: not in output, log records, repr or exception text (scripted server)."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from reconciler.errors import ApiError
from reconciler.webex import Auth, redact, redaction_filter

from .conftest import MockFactory

OLD = "old-access-token-1111111111"
NEW = "new-access-token-2222222222"
SECRET = "client-secret-3333333333"
REFRESH = "refresh-token-4444444444"
BOT = "bot-token-5555555555"
ALL = (OLD, NEW, SECRET, REFRESH, BOT)


def env() -> dict[str, str]:
    return {
        "WEBEX_ACCESS_TOKEN": OLD,
        "WEBEX_CLIENT_ID": "cid",
        "WEBEX_CLIENT_SECRET": SECRET,
        "WEBEX_REFRESH_TOKEN": REFRESH,
    }


def handler(request: httpx.Request) -> httpx.Response:
    auth = request.headers.get("Authorization", "")
    if request.url.path == "/v1/access_token":
        return httpx.Response(200, json={"access_token": NEW, "refresh_token": REFRESH})
    if request.url.path == "/v1/echo":  # a server that echoes the credentials back in its error
        return httpx.Response(400, json={"message": f"bad header {auth}", "errors": [{"description": auth}]})
    if request.url.path == "/v1/messages":
        return httpx.Response(401, json={"message": f"bot {auth} refused"})
    if auth != f"Bearer {NEW}":
        return httpx.Response(401, json={"message": "token expired"})
    return httpx.Response(200, json={"ok": True})


def assert_clean(text: str) -> None:
    for secret in ALL:
        assert secret not in text


async def test_token_never_appears(
    mock_client: MockFactory, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = Auth.from_env(None, environ=env())
    errors: list[ApiError] = []
    async with mock_client(handler, auth=auth, debug=True) as client:
        await client.request("GET", "/devices")  # 401 -> refresh -> 200
        for path in ("/echo",):
            try:
                await client.request("GET", path)
            except ApiError as exc:
                errors.append(exc)
        try:
            await client.post_message("ROOM", "hello", token_override=BOT)
        except ApiError as exc:
            errors.append(exc)
        texts = [repr(client), str(client), repr(auth), str(auth), repr(vars(auth)), repr(client.stats)]
    assert client.stats.refreshes == 1 and len(errors) == 2
    assert any("401" in str(e) for e in errors)
    for exc in errors:
        texts += [str(exc), repr(exc), repr(exc.args), exc.message, exc.api_message]
        texts.append("".join(traceback.format_exception(exc)))
    logging.getLogger("reconciler.webex").exception("failure with %s", errors[0], exc_info=errors[0])
    records = caplog.records
    assert any("trackingId=" in r.getMessage() for r in records)  # debug logging did happen
    texts += [r.getMessage() for r in records]
    texts += [caplog.text]
    out = capsys.readouterr()
    texts += [out.out, out.err]
    for text in texts:
        assert_clean(text)


def test_redaction_filter_masks_registered_secrets() -> None:
    Auth("tok-for-filter-9999999999")
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent %s", ("tok-for-filter-9999999999",), None
    )
    assert redaction_filter().filter(record)
    assert record.getMessage() == "sent ***"
    assert redact("a tok-for-filter-9999999999 b") == "a *** b"
