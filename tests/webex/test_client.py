"""The HTTP core against scripted answers (httpx.MockTransport): retries, gate, paging, errors."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from reconciler.errors import ApiError, ConfigError
from reconciler.webex import Auth, PaginationError, WebexApiError, WebexClient, make_client
from reconciler.webex.client import MAX_SILENT_ATTEMPTS

from .conftest import MockFactory


def ok(body: Any = None, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def webex_error(status: int, message: str = "Boom", **headers: str) -> httpx.Response:
    body = {"message": message, "errors": [{"description": f"{message} detail"}], "trackingId": "SRV_1"}
    return httpx.Response(status, json=body, headers=headers)


# -- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/v1",
        "http://127.9.9.9/v1",
        "http://localhost:1/v1",
        "http://[::1]:8/v1",
        "https://x.y/v1",
    ],
)
def test_allowed_base_urls(url: str) -> None:
    client = WebexClient(url, Auth("t" * 20))
    assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://webexapis.com/v1", "http://10.0.0.1/v1", "ftp://x/v1", "nonsense"])
def test_refused_base_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        WebexClient(url, Auth("t" * 20))


def test_plain_http_allowed_with_injected_transport() -> None:
    transport = httpx.MockTransport(lambda r: ok())
    assert WebexClient("http://sim/v1", Auth("t" * 20), transport=transport).base_url == "http://sim/v1"


def test_make_client_uses_env(tmp_path: Any) -> None:
    client = make_client(None, None, "ORG", 4, environ={"WEBEX_ACCESS_TOKEN": "abcdefgh1234"})
    assert client.base_url == "https://webexapis.com/v1"
    assert client.org_id == "ORG" and client.concurrency == 4
    env = {"WEBEX_BASE_URL": "http://127.0.0.1:9/v1"}
    (tmp_path / "tok").write_text("filetoken-123456\n")
    client = make_client(None, str(tmp_path / "tok"), None, 2, environ=env)
    assert client.base_url == "http://127.0.0.1:9/v1"
    assert client.auth.token == "filetoken-123456"


def test_auth_from_env_errors(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="WEBEX_ACCESS_TOKEN"):
        Auth.from_env(None, environ={})
    with pytest.raises(ConfigError, match="missing: WEBEX_REFRESH_TOKEN"):
        Auth.from_env(None, environ={"WEBEX_CLIENT_ID": "a", "WEBEX_CLIENT_SECRET": "b"})
    with pytest.raises(ConfigError, match="cannot read token file"):
        Auth.from_env(str(tmp_path / "missing"), environ={})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        Auth.from_env(str(tmp_path / "empty"), environ={})
    auth = Auth.from_env(
        None,
        environ={
            "WEBEX_CLIENT_ID": "cid",
            "WEBEX_CLIENT_SECRET": "csecret-xyz",
            "WEBEX_REFRESH_TOKEN": "rtok-12345",
        },
    )
    assert auth.token is None and auth.can_refresh


# -- headers, params ------------------------------------------------------------------------------


async def test_tracking_id_org_id_and_auth_header(mock_client: MockFactory, token: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"items": []})

    async with mock_client(handler, org_id="ORG1") as client:
        await client.request("GET", "/devices", params={"mac": "AA:BB", "skip": None, "flag": True})
        await client.request("GET", "/people")
    ids = [r.headers["TrackingID"] for r in seen]
    assert all(i.startswith("RECONCILER_") for i in ids) and len(set(ids)) == 2
    assert seen[0].headers["Authorization"] == f"Bearer {token}"
    assert dict(seen[0].url.params) == {"mac": "AA:BB", "flag": "true", "orgId": "ORG1"}
    assert seen[1].url.params["orgId"] == "ORG1"
    assert str(seen[1].url) == "http://api.test/v1/people?orgId=ORG1"


# -- retries --------------------------------------------------------------------------------------


async def test_get_retries_5xx_then_succeeds(mock_client: MockFactory) -> None:
    answers = [webex_error(503), webex_error(500), ok({"x": 1})]

    async with mock_client(lambda r: answers.pop(0)) as client:
        resp = await client.request("GET", "/thing")
    assert resp.json() == {"x": 1}
    assert client.stats.requests == 3 and client.stats.retries == 2
    assert client.stats.by_status == {503: 1, 500: 1, 200: 1}


async def test_post_not_retried_on_5xx(mock_client: MockFactory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return webex_error(500, "Internal")

    async with mock_client(handler) as client:
        with pytest.raises(WebexApiError) as info:
            await client.request("POST", "/telephony/config/jobs/devices/rebuildPhones", json={})
    assert calls == 1
    assert info.value.ambiguous and info.value.status == 500 and info.value.attempts == 1


async def test_post_retried_when_it_provably_did_not_arrive(mock_client: MockFactory) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused")
        if len(calls) == 2:
            return webex_error(429, "Too many", **{"Retry-After": "0"})
        return ok({"id": "job1"})

    async with mock_client(handler) as client:
        resp = await client.request("POST", "/jobs", json={"a": 1})
    assert resp.json() == {"id": "job1"} and len(calls) == 3


async def test_post_read_timeout_is_ambiguous_and_not_retried(mock_client: MockFactory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("slow")

    async with mock_client(handler, max_attempts=6) as client:
        with pytest.raises(WebexApiError) as info:
            await client.request("POST", "/jobs", json={})
        assert calls == 1 and info.value.ambiguous and info.value.status is None
        # a read-only POST may be repeated, but a request without an answer in time is tried
        # MAX_SILENT_ATTEMPTS times at most (a server that never answers ends the run soon)
        with pytest.raises(WebexApiError) as info:
            await client.request("POST", "/preview", json={}, retry_post=True)
        assert calls == 1 + MAX_SILENT_ATTEMPTS and info.value.attempts == MAX_SILENT_ATTEMPTS
        assert "not retried" in str(info.value)


async def test_attempts_bounded_and_error_text(mock_client: MockFactory) -> None:
    async with mock_client(lambda r: webex_error(502, "Upstream down"), max_attempts=3) as client:
        with pytest.raises(ApiError) as info:
            await client.request("GET", "/telephony/config/devices/D1/members", params={"secret": "q"})
    err = info.value
    text = str(err)
    assert (err.method, err.path, err.status, err.attempts) == (
        "GET",
        "/telephony/config/devices/D1/members",
        502,
        3,
    )
    assert err.tracking_id == "SRV_1"
    for part in (
        "GET",
        "/telephony/config/devices/D1/members",
        "502",
        "Upstream down",
        "Upstream down detail",
        "SRV_1",
        "3 attempts",
    ):
        assert part in text
    assert "secret" not in text  # no query string in the error


async def test_tracking_id_from_header_when_body_has_none(mock_client: MockFactory) -> None:
    async with mock_client(lambda r: httpx.Response(404, text="nope", headers={"TrackingID": "HDR_9"})) as c:
        with pytest.raises(ApiError) as info:
            await c.request("GET", "/x")
    assert info.value.tracking_id == "HDR_9" and info.value.attempts == 1 and "nope" in str(info.value)


async def test_deadline_stops_retrying(mock_client: MockFactory) -> None:
    async with mock_client(
        lambda r: webex_error(429, **{"Retry-After": "5"}), deadline_s=1.0, max_attempts=10
    ) as client:
        started = time.monotonic()
        with pytest.raises(ApiError) as info:
            await client.request("GET", "/x")
    assert time.monotonic() - started < 0.5  # did not sleep 5 s past the deadline
    assert info.value.status == 429


async def test_429_gate_is_shared_by_all_tasks(mock_client: MockFactory) -> None:
    """One 429 with Retry-After: 1 holds back every other request of the client until then."""
    sent: list[tuple[str, float]] = []
    refused_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        sent.append((request.url.path, now))
        if request.url.path == "/v1/first" and not refused_at:
            refused_at.append(now)
            return webex_error(429, "slow down", **{"Retry-After": "1"})
        return ok()

    async with mock_client(handler) as client:
        first = asyncio.create_task(client.request("GET", "/first"))
        await asyncio.sleep(0.05)  # the 429 has arrived by now
        others = [client.request("GET", f"/other{i}") for i in range(5)]
        await asyncio.gather(first, *others)
    assert refused_at
    later = [t for path, t in sent if path != "/v1/first" or t > refused_at[0]]
    assert len(later) == 6
    assert min(later) >= refused_at[0] + 0.95
    assert client.stats.rate_limited == 1 and client.stats.waited_s > 0


async def test_423_without_retry_after_backs_off_locally(mock_client: MockFactory) -> None:
    answers = [webex_error(423, "Locked"), ok()]
    async with mock_client(lambda r: answers.pop(0)) as client:
        await client.request("PUT", "/x", json={})
    assert client.stats.locked == 1 and client.gate.until == 0.0


async def test_concurrency_is_bounded(mock_client: MockFactory) -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return ok()

    async with mock_client(handler, concurrency=3) as client:
        await asyncio.gather(*(client.request("GET", f"/x{i}") for i in range(20)))
    assert peak == 3


# -- pagination -----------------------------------------------------------------------------------


def paged_handler(
    total: int, host: str = "api.test", drop: tuple[str, ...] = ("orgId", "max", "type")
) -> Any:
    """Serves ``total`` items ``max`` a page with absolute next links that drop ``drop`` params."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        params = dict(request.url.params)
        start = int(params.get("start", 0))
        size = int(params.get("max", 2))
        page = [{"n": i} for i in range(start, min(total, start + size))]
        headers = {}
        if start + size < total:
            kept = {k: v for k, v in params.items() if k not in drop}
            kept["start"] = str(start + size)
            query = "&".join(f"{k}={v}" for k, v in kept.items())
            headers["Link"] = f'<http://{host}/v1/items?{query}>; rel="next"'
        return httpx.Response(200, json={"items": page}, headers=headers)

    handler.requests = requests  # type: ignore[attr-defined]
    return handler


async def test_paginate_follows_links_and_keeps_dropped_params(mock_client: MockFactory) -> None:
    handler = paged_handler(7)
    async with mock_client(handler, org_id="ORG") as client:
        items = await client.paginate("/items", {"max": 3, "type": "phone"}, "items")
    assert [i["n"] for i in items] == list(range(7))
    for request in handler.requests:
        assert request.url.params["orgId"] == "ORG"
        assert request.url.params["max"] == "3"
        assert request.url.params["type"] == "phone"
    assert len(handler.requests) == 3


async def test_paginate_refuses_foreign_host(mock_client: MockFactory) -> None:
    handler = paged_handler(5, host="evil.example")
    async with mock_client(handler) as client:
        with pytest.raises(PaginationError, match="another host"):
            await client.paginate("/items", {"max": 2})
    assert len(handler.requests) == 1


async def test_paginate_refuses_a_loop_and_stops_on_empty_page(mock_client: MockFactory) -> None:
    calls = 0

    def looping(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        link = '<http://api.test/v1/items?start=0&max=1>; rel="next"'
        return httpx.Response(200, json={"items": [{"n": calls}]}, headers={"Link": link})

    async with mock_client(looping) as client:
        with pytest.raises(PaginationError) as info:
            await client.paginate("/items", {"max": 1})
    assert calls == 2 and info.value.path == "/items" and "already read" in str(info.value)

    def empty(request: httpx.Request) -> httpx.Response:
        link = '<http://api.test/v1/items?start=5>; rel="next"'
        return httpx.Response(200, json={"items": []}, headers={"Link": link})

    async with mock_client(empty) as client:
        assert await client.paginate("/items") == []


async def test_absolute_url_must_be_same_host(mock_client: MockFactory) -> None:
    async with mock_client(lambda r: ok()) as client:
        with pytest.raises(PaginationError):
            await client.request("GET", "https://elsewhere.example/v1/devices")


# -- auth refresh ---------------------------------------------------------------------------------


def refresh_env() -> dict[str, str]:
    return {
        "WEBEX_ACCESS_TOKEN": "old-token-aaaaaaaa",
        "WEBEX_CLIENT_ID": "client-id",
        "WEBEX_CLIENT_SECRET": "client-secret-bbbbbbbb",
        "WEBEX_REFRESH_TOKEN": "refresh-token-cccccccc",
    }


async def test_401_refreshes_once_for_concurrent_requests(mock_client: MockFactory) -> None:
    refreshes: list[dict[str, str]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/access_token":
            form = dict(httpx.QueryParams(request.content.decode()))
            refreshes.append(form)
            await asyncio.sleep(0.05)
            return ok({"access_token": "new-token-dddddddd", "expires_in": 1209600})
        await asyncio.sleep(0.01)
        if request.headers["Authorization"] != "Bearer new-token-dddddddd":
            return webex_error(401, "expired")
        return ok({"ok": True})

    auth = Auth.from_env(None, environ=refresh_env())
    async with mock_client(handler, auth=auth) as client:
        results = await asyncio.gather(*(client.request("GET", f"/x{i}") for i in range(10)))
    assert all(r.json() == {"ok": True} for r in results)
    assert len(refreshes) == 1
    assert refreshes[0] == {
        "grant_type": "refresh_token",
        "client_id": "client-id",
        "client_secret": "client-secret-bbbbbbbb",
        "refresh_token": "refresh-token-cccccccc",
    }
    assert client.stats.refreshes == 1 and auth.token == "new-token-dddddddd"


async def test_401_without_refresh_or_after_refresh_fails(mock_client: MockFactory) -> None:
    async with mock_client(lambda r: webex_error(401, "Unauthorized")) as client:
        with pytest.raises(ApiError) as info:
            await client.request("GET", "/x")
    assert (
        info.value.status == 401 and info.value.attempts == 1 and "no refresh credentials" in str(info.value)
    )

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/v1/access_token":
            return ok({"access_token": f"token-{len(calls):010d}"})
        return webex_error(401, "Unauthorized")

    auth = Auth.from_env(None, environ=refresh_env())
    async with mock_client(handler, auth=auth) as client:
        with pytest.raises(ApiError) as info:
            await client.request("GET", "/x")
    assert calls == ["/v1/x", "/v1/access_token", "/v1/x"]  # refreshed once, not in a loop
    assert "refresh did not help" in str(info.value)


async def test_refresh_first_when_only_refresh_credentials(mock_client: MockFactory) -> None:
    env = refresh_env()
    del env["WEBEX_ACCESS_TOKEN"]
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/v1/access_token":
            return ok({"access_token": "fresh-token-eeeeeeee", "refresh_token": "refresh-2-ffffffff"})
        assert request.headers["Authorization"] == "Bearer fresh-token-eeeeeeee"
        return ok()

    async with mock_client(handler, auth=Auth.from_env(None, environ=env)) as client:
        await asyncio.gather(client.request("GET", "/a"), client.request("GET", "/b"))
    assert calls.count("/v1/access_token") == 1


async def test_failed_refresh_is_an_api_error_without_secrets(mock_client: MockFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/access_token":
            return httpx.Response(400, json={"message": "invalid refresh-token-cccccccc"})
        return webex_error(401)

    auth = Auth.from_env(None, environ=refresh_env())
    async with mock_client(handler, auth=auth) as client:
        with pytest.raises(ApiError) as info:
            await client.request("GET", "/x")
    text = str(info.value)
    assert "token refresh failed" in text and "refresh-token-cccccccc" not in text
    assert "client-secret" not in text


# -- wrappers that need care ----------------------------------------------------------------------


async def test_create_template_after_ambiguous_failure_is_not_duplicated(mock_client: MockFactory) -> None:
    templates: list[dict[str, Any]] = []
    posts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        if request.method == "POST":
            posts += 1
            body = json.loads(request.content)
            templates.append({"id": f"T{posts}", **body})
            if posts == 1:
                return webex_error(502, "gateway")  # applied, but the answer was lost
            return ok({"id": f"T{posts}"}, 201)
        return ok({"lineKeyTemplates": templates})

    async with mock_client(handler) as client:
        tid = await client.create_line_key_template(
            {"templateName": "Sales", "deviceModel": "DMS Cisco 8851"}
        )
    assert tid == "T1" and posts == 1


async def test_devices_by_mac_small_set_uses_filtered_requests(mock_client: MockFactory) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        mac = request.url.params.get("mac", "")
        seen.append(mac)
        items = [{"id": "D-" + mac, "mac": mac}] if mac != "00:00:00:00:00:03" else []
        return ok({"items": items})

    async with mock_client(handler) as client:
        found = await client.devices_by_mac(["00-00-00-00-00-01", "000000000002", "00:00:00:00:00:03"])
    assert sorted(seen) == ["00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"]
    assert sorted(found) == ["000000000001", "000000000002"]
    with pytest.raises(ConfigError):
        async with mock_client(handler) as client:
            await client.devices_by_mac(["not-a-mac"])


async def test_delete_background_images_sends_body(mock_client: MockFactory) -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path, json.loads(request.content)))
        return ok({"items": [{"fileName": "a"}], "count": "0"})

    async with mock_client(handler) as client:
        result = await client.delete_background_images(["a"], force=True)
    assert result["count"] == "0"
    assert bodies == [
        (
            "DELETE",
            "/v1/telephony/config/devices/backgroundImages",
            {"backgroundImages": [{"fileName": "a", "forceDelete": True}]},
        )
    ]
