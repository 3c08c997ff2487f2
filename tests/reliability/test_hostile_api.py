"""Hostile or broken API answers: a clear error naming the endpoint, no traceback, and no write
made on the strength of bad data (the simulator's write and job counters stay where they were)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import EXAMPLES, Harness, Rule, record, route

Rewrite = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]


def body_edit(fn: Callable[[Any], Any]) -> Rewrite:
    def rewrite(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        return json.dumps(fn(json.loads(body))).encode(), headers

    return rewrite


def raw(text: bytes, content_type: str = "application/json") -> Rewrite:
    def rewrite(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        return text, {**headers, "content-type": content_type}

    return rewrite


def drop_key(key: str) -> Callable[[Any], Any]:
    def edit(data: Any) -> Any:
        data.pop(key, None)
        return data

    return edit


def set_key(key: str, value: Any) -> Callable[[Any], Any]:
    def edit(data: Any) -> Any:
        data[key] = value
        return data

    return edit


def huge(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The real answer padded with 70 MB of whitespace (valid JSON, over the client's limit)."""
    return body[:-1] + b" " * (70 * 1024 * 1024) + body[-1:], headers


def link_elsewhere(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {**headers, "link": '<https://evil.example.net/v1/devices?start=1>; rel="next"'}


SETTINGS = r"/telephony/config/devices/[^/]+/settings$"
MEMBERS = r"/telephony/config/devices/[^/]+/members$"
LAYOUT = r"/telephony/config/devices/[^/]+/layout$"
TEMPLATES = r"/telephony/config/devices/lineKeyTemplates$"
JOB_STATUS = r"/jobs/devices/callDeviceSettings/[^/]+$"
JOB_START = r"/jobs/devices/callDeviceSettings$"

# (case, method, path regex, rewrite, words the error must contain, command)
CASES: list[tuple[str, str, str, Rewrite, tuple[str, ...], str]] = [
    (
        "malformed JSON (HTML from a proxy)",
        "GET",
        SETTINGS,
        raw(b"<html>502 Bad Gateway</html>", "text/html"),
        ("/settings", "not valid JSON"),
        "plan",
    ),
    (
        "truncated JSON",
        "GET",
        MEMBERS,
        raw(b'{"members": [{"id": "x", "po'),
        ("/members", "not valid JSON"),
        "plan",
    ),
    (
        "a list where an object is expected",
        "GET",
        LAYOUT,
        raw(b"[1, 2, 3]"),
        ("/layout", "expected an object"),
        "plan",
    ),
    (
        "missing field: settings without customizations",
        "GET",
        SETTINGS,
        body_edit(drop_key("customizations")),
        ("/settings", "no 'customizations' field"),
        "apply",
    ),
    (
        "missing field: members without members",
        "GET",
        MEMBERS,
        body_edit(drop_key("members")),
        ("/members", "no 'members' field"),
        "apply",
    ),
    (
        "missing field: template list without lineKeyTemplates",
        "GET",
        TEMPLATES,
        body_edit(drop_key("lineKeyTemplates")),
        ("lineKeyTemplates", "no 'lineKeyTemplates' field"),
        "apply",
    ),
    (
        "missing field: a listing without items",
        "GET",
        r"/v1/devices$",
        body_edit(drop_key("items")),
        ("/devices", "no 'items' list"),
        "apply",
    ),
    (
        "unexpected enum: layoutMode",
        "GET",
        LAYOUT,
        body_edit(set_key("layoutMode", "HOLOGRAPHIC")),
        ("/layout", "HOLOGRAPHIC"),
        "apply",
    ),
    (
        "unexpected enum: job status",
        "GET",
        JOB_STATUS,
        body_edit(set_key("latestExecutionStatus", "EXPLODED")),
        ("callDeviceSettings", "EXPLODED"),
        "apply",
    ),
    ("job started without an id in the answer", "POST", JOB_START, body_edit(drop_key("id")), (), "apply"),
    ("a huge body (70 MB)", "GET", SETTINGS, huge, ("/settings", "larger than"), "plan"),
    (
        "a Link header pointing to another host",
        "GET",
        r"/v1/devices$",
        link_elsewhere,
        ("/devices", "another host", "evil.example.net"),
        "plan",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_answer(
    case: tuple[str, str, str, Rewrite, tuple[str, ...], str], harness: Callable[..., Harness]
) -> None:
    name, method, pattern, rewrite, words, command = case
    h = harness()
    rule = h.perturb.add(Rule(route(method, pattern), "rewrite", rewrite=rewrite))
    r = h.run("plan", str(EXAMPLES)) if command == "plan" else h.apply()
    out = r.output
    assert rule.hits, f"the rule never matched: {pattern}"
    assert "Traceback" not in out and "internal error" not in out and "RuntimeWarning" not in out, out
    hosts = {s.host for s in h.perturb.seen}
    assert hosts == {f"127.0.0.1:{h.port}"}, hosts  # never a request to another host
    bad_writes = [s for s in h.perturb.seen if s.processed and s.method != "GET" and s.changed]
    jobs_before = sum(h.jobs_started().values())
    if name.startswith("job started without an id"):
        # The job did start: it is found in the list and adopted, not started a second time.
        assert r.exit_code == 0 and "Converged" in out, out
        assert h.jobs_started()["callDeviceSettings"] == 2
        record(f"hostile: {name}", result="converged (job adopted from the list)", writes_on_bad_data=0)
        return
    assert r.exit_code == 1, out
    error_lines = [ln for ln in out.splitlines() if "Error:" in ln or "failed  " in ln]
    assert error_lines, out
    text = "\n".join(error_lines)
    for w in words:
        assert w in text, (w, text)
    # Nothing written on the strength of the bad answer: with a planning read broken, nothing at
    # all; with a job's status broken, only what the plan had before that job.
    if name.startswith("unexpected enum: job status"):
        # The org's job fails (its outcome is unknown), the location's that runs after it is
        # skipped; independent steps still apply.
        failed = [ln for ln in out.splitlines() if ln.startswith("  failed  ")]
        assert len(failed) == 1 and "OrgDeviceSettings/" in failed[0], failed
        assert "  skipped LocationDeviceSettings/Headquarters: depends on OrgDeviceSettings/org" in out
    else:
        assert not bad_writes and jobs_before == 0, [(s.method, s.path) for s in bad_writes]
    shown = re.sub(r"\s+", " ", error_lines[-1])[:160]
    record(f"hostile: {name}", result=f"clean error: {shown}", writes_on_bad_data=0)
