"""Answers are judged strictly, and nothing the server says reaches a terminal or a log raw.

- a server that accepts and never answers: ``plan --timeout 1`` ends within seconds;
- a 307 to a settings PUT is an error naming the endpoint, never "applied";
- JSON nested 100,000 (or 500) levels deep, in a 200 or a 400, is a clean error naming the endpoint;
- product names and job error items carrying ``ESC ] ... BEL``, a bare CR, C1 controls and a
  secret are escaped and masked in the text output, ``--format json`` and the apply log;
- names in ``explain`` (text and JSON, the JSON's bytes too) and ``push`` are escaped likewise;
- a long error message is masked before it is cut: no part of a secret shows;
- a base URL with ``user:password@`` is refused, and the password is never printed.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from reconciler.cli import main

from .conftest import EXAMPLES, TOKEN, Harness, Rule, record, route
from .hostile_server import HostileServer, Script, SeenRequest

Serve = Callable[[Script], HostileServer]
HOSTILE = "Cisco 8851\x1b]0;pwned\x07\rOVERWRITTEN\x9b31m\u202e"
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\u202e")
PROXY_SECRET = "Proxy4Secret8Vv3kQz"
DEVICE_SETTINGS_PUT = r"/telephony/config/devices/[^/]+/settings$"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[Result, float]:
    """The CLI in a thread (a hang fails the test instead of hanging the suite): result, seconds."""
    box: dict[str, Result] = {}
    environ = {"WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1", **(env or {})}

    def go() -> None:
        box["r"] = CliRunner().invoke(main, list(args), env=environ, catch_exceptions=True)

    started = time.monotonic()
    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"reconciler {' '.join(args)} still running after {timeout} s"
    return box["r"], time.monotonic() - started


def no_raw_control(text: str) -> None:
    found = [c for c in RAW_CONTROLS if c in text]
    assert not found, (found, text[:2000])


def test_a_server_that_never_answers_ends_a_plan_within_seconds(hostile_server: Serve) -> None:
    def silent(request: SeenRequest) -> list[tuple[float, bytes]]:
        return [(3600.0, b"")]  # reads the request, then says nothing for an hour

    server = hostile_server(silent)
    r, took = run_cli("plan", str(EXAMPLES), "--base-url", server.url, "--timeout", "1")
    assert r.exit_code == 1, r.output
    assert "no complete answer within 1 s" in r.output and "not retried" in r.output, r.output
    assert "internal error" not in r.output and took < 6, (took, r.output)
    # every request queued behind the first ones failed unsent once the server was known silent
    assert len(server.requests) <= 40, len(server.requests)
    record(
        "a server that accepts and never answers: plan --timeout 1",
        result="one clean error after 2 attempts",
        wall_s=round(took, 1),
    )


def test_a_redirect_is_never_taken_for_success(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    moved = h.perturb.add(
        Rule(
            route("PUT", DEVICE_SETTINGS_PUT),
            "status",
            status=307,
            headers={"Location": "https://u:pw@x.test/"},
        )
    )
    r = h.apply("--log", "log.jsonl", paths=(str(repo),))
    assert r.exit_code == 1 and moved.hits >= 1, r.output
    assert "-> 307: the API answered 307 (a redirect to x.test), which is not success" in r.output
    assert "pw@" not in r.output and "Converged" not in r.output
    failed = [ln for ln in r.output.splitlines() if ln.startswith("  failed  ")]
    assert failed and all("settings" in ln for ln in failed), r.output
    assert not h.sim.stats.writes_by_route.get("PUT /v1/telephony/config/devices/{deviceId}/settings")
    record("a device settings PUT answered 307", result="failed with a clean error, never 'applied'")


def nested(depth: int) -> bytes:
    return b'{"items": ' + b"[" * depth + b"]" * depth + b"}"


def test_deeply_nested_json_is_a_clean_error(harness: Callable[..., Harness]) -> None:
    h = harness()
    for depth in (100_000, 500):
        h.perturb.rules.clear()
        h.perturb.add(
            Rule(route("GET", r"/v1/people$"), "rewrite", rewrite=lambda b, hd, d=depth: (nested(d), hd))
        )
        r = h.run("plan", str(EXAMPLES))
        assert r.exit_code == 1, r.output
        assert "GET /people -> 200" in r.output and "nested deeper than 64 levels" in r.output, r.output
        assert "internal error" not in r.output and "RecursionError" not in r.output
    h.perturb.rules.clear()
    h.perturb.add(Rule(route("GET", r"/v1/people$"), "status", status=400, body=nested(100_000)))
    r = h.run("plan", str(EXAMPLES))
    assert r.exit_code == 1 and "GET /people -> 400" in r.output, r.output
    assert "nested deeper than 64 levels" in r.output and "internal error" not in r.output
    record(
        "JSON nested 100,000 and 500 levels (a 200 and a 400)", result="one clean error naming the endpoint"
    )


def hostile_products(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    data = json.loads(body)
    for item in data.get("items", []):
        item["product"] = HOSTILE
    return json.dumps(data).encode(), headers


def test_product_names_from_the_server_are_escaped(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    h.perturb.add(Rule(route("GET", r"/v1/devices$"), "rewrite", rewrite=hostile_products))
    text = h.run("plan", str(repo))
    assert text.exit_code == 0, text.output
    no_raw_control(text.output)
    assert "Cisco 8851\\x1b]0;pwned\\x07\\rOVERWRITTEN" in text.output
    as_json = h.run("plan", str(repo), "--format", "json")
    assert as_json.exit_code == 0, as_json.output

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    no_raw_control("".join(strings(json.loads(as_json.output))))
    markdown = h.run("plan", str(repo), "--format", "markdown")
    no_raw_control(markdown.output)


def hostile_errors(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Each error description made hostile: the spec's shape of an applyLineKeyTemplate job's
    errors (one ``error`` listing every ``message``), and the paged ``items`` of the others."""
    data = json.loads(body)
    errors = [item.get("error", {}) for item in data.get("items", [])]
    errors += [data["error"]] if isinstance(data.get("error"), dict) else []
    for error in errors:
        for message in error.get("message", []):
            message["description"] = f"{HOSTILE} proxy password {PROXY_SECRET} refused"
    return json.dumps(data).encode(), headers


def proxy_repo(repo: Path) -> None:
    org = repo / "org" / "device-settings.yaml"
    org.write_text(
        org.read_text().replace(
            "      lldpEnabled: true\n",
            "      lldpEnabled: true\n"
            "      httpProxy:\n        password: {fromEnv: RECONCILER_SECRET_PROXY}\n",
        )
    )


def test_job_error_items_are_masked_and_escaped_everywhere(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path
) -> None:
    h = harness()
    proxy_repo(repo)
    target = next(d.mac for d in h.sim.store.devices.values() if d.model.endswith("8851"))
    h.sim.fail_next_job("applyLineKeyTemplate", "FAILED", [target])
    h.perturb.add(
        Rule(route("GET", r"/applyLineKeyTemplate/[^/]+/errors$"), "rewrite", rewrite=hostile_errors)
    )
    env = {"RECONCILER_SECRET_PROXY": PROXY_SECRET}
    r = h.run("apply", str(repo), "--auto-approve", "--log", "log.jsonl", env=env)
    assert r.exit_code == 1 and "failed  " in r.output, r.output
    assert "proxy password *** refused" in r.output, r.output
    log = Path("log.jsonl").read_text()
    for artifact in (r.output, log):
        no_raw_control(artifact)
        assert PROXY_SECRET not in artifact
    as_json = h.run("apply", str(repo), "--auto-approve", "--log", "log2.jsonl", "--format", "json", env=env)
    assert PROXY_SECRET not in as_json.output
    record(
        "job error items with ESC ] ... BEL, a bare CR, C1 controls and a proxy password",
        result="masked and escaped in stdout and the apply log",
        secrets_leaked=0,
    )


def test_a_long_error_message_is_masked_before_it_is_cut(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    proxy_repo(repo)
    body = b"x" * 190 + PROXY_SECRET.encode() + b" was refused by the proxy check" + b"." * 400
    h.perturb.add(
        Rule(
            route("POST", r"/jobs/devices/callDeviceSettings$"),
            "status",
            status=400,
            body=body,
            content_type="text/plain",
        )
    )
    r = h.run(
        "apply",
        str(repo),
        "--auto-approve",
        "--log",
        "log.jsonl",
        env={"RECONCILER_SECRET_PROXY": PROXY_SECRET},
    )
    assert r.exit_code == 1 and "-> 400" in r.output, r.output
    assert PROXY_SECRET[:8] not in r.output and PROXY_SECRET[:8] not in Path("log.jsonl").read_text()
    assert "***" in r.output


def test_a_base_url_with_a_password_is_refused_and_never_printed(
    hostile_server: Serve, tmp_path: Path
) -> None:
    server = hostile_server(lambda request: [(0.0, b"")])
    with_password = server.url.replace("http://", "http://admin:S3cretPW9@")
    for args, env in (
        (("plan", str(EXAMPLES), "--base-url", with_password), {}),
        (("plan", str(EXAMPLES), "--format", "json"), {"WEBEX_BASE_URL": with_password}),
        (("apply", str(EXAMPLES), "--auto-approve", "--base-url", with_password), {}),
    ):
        r, _ = run_cli(*args, env=env)
        assert r.exit_code == 1, r.output
        assert "holds a user name or password" in r.output and "S3cretPW9" not in r.output, r.output
    assert not server.requests
    shutil.rmtree(tmp_path / ".reconciler", ignore_errors=True)


def hostile_people(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    data = json.loads(body)
    for item in data.get("members", []):
        item["firstName"] = HOSTILE
        item["lastName"] = HOSTILE + "L" * 5000
    return json.dumps(data).encode(), headers


def test_explain_and_push_never_print_what_the_server_hides_in_names(
    harness: Callable[..., Harness], repo: Path
) -> None:
    """Names the server returns (device products and names, members' names) reach neither
    ``explain`` (text and JSON, which must still parse) nor ``push`` raw: every control and bidi
    character is escaped, in the text and in the JSON document's bytes alike."""
    h = harness()
    h.perturb.add(Rule(route("GET", r"/v1/devices$"), "rewrite", rewrite=hostile_products))
    h.perturb.add(Rule(route("GET", r"/members$"), "rewrite", rewrite=hostile_people))
    for args in (
        ["explain", "Device/0A1B2C3D4E07", str(repo)],
        ["explain", "Device/0A1B2C3D4E07", str(repo), "--format", "json"],
        ["explain", "Device/FFFFFFFFFFFF", str(repo)],
        ["push", str(repo), "--target", "Device/0A1B2C3D4E07", "--auto-approve"],
        ["push", str(repo), "--location", "Nowhere", "--auto-approve"],
    ):
        result = h.run(*args, "--base-url", h.url)
        assert "Traceback" not in result.output and "internal error" not in result.output, result.output
        no_raw_control(result.output)
        if "0A1B2C3D4E07" in args[1]:
            assert result.exit_code == 0, result.output
        if "json" in args:
            no_raw_control(json.dumps(json.loads(result.output), ensure_ascii=False))
