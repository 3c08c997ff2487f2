"""Checking 2xx answers before anything is planned or written on the strength of them.

A broken proxy or a changed API can answer 200 with HTML, a truncated body, a list where an object
is expected, an object without the field a planner reads, or a value outside the documented enum.
Read-modify-write on such an answer would write wrong data (a settings PUT built from an empty
``customizations`` object replaces the device's settings), so every answer the planners and jobs
rely on is parsed strictly and checked here; a bad one raises ``BadAnswer`` naming the endpoint.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from reconciler.webex.errors import BadAnswer
from reconciler.webex.untrusted import JsonTooDeep, api_text, parse_json

JSONDict = dict[str, Any]

LAYOUT_MODES = frozenset({"DEFAULT", "CUSTOM"})
JOB_STATUSES = frozenset({"STARTING", "STARTED", "COMPLETED", "FAILED"})
JOB_EXIT_CODES = frozenset({"UNKNOWN", "COMPLETED", "FAILED", "STOPPED", "COMPLETED_WITH_ERRORS"})

_ID = r"[^/]+"
# path (relative to the base URL, no query) -> {field: expected type(s)} the planners rely on
SHAPES: list[tuple[str, dict[str, type | tuple[type, ...]]]] = [
    (rf"^/telephony/config/devices/{_ID}/members$", {"members": list}),
    (rf"^/telephony/config/devices/{_ID}/layout$", {"layoutMode": str}),
    (r"^/telephony/config/devices/settings$", {"customizations": dict}),
    (rf"^/telephony/config/devices/{_ID}/settings$", {"customizations": dict}),
    (rf"^/telephony/config/locations/{_ID}/devices/settings$", {"customizations": dict}),
    (rf"^/telephony/config/(people|workspaces)/{_ID}/devices$", {"devices": list}),
    (r"^/telephony/config/devices/lineKeyTemplates$", {"lineKeyTemplates": list}),
    (
        rf"^/telephony/config/devices/lineKeyTemplates/{_ID}$",
        {"deviceModel": str, "lineKeys": list},
    ),
    (r"^/telephony/config/devices/backgroundImages$", {"backgroundImages": list}),
    (r"^/telephony/config/supportedDevices$", {"devices": list}),
]


# One pattern for all of them: the name of the group that matched is the index into SHAPES.
_SHAPE_MATCH = re.compile("|".join(f"(?P<s{i}>{p})" for i, (p, _) in enumerate(SHAPES)))


def shape_of(path: str) -> dict[str, type | tuple[type, ...]] | None:
    m = _SHAPE_MATCH.match(path)
    return SHAPES[int(m.lastgroup[1:])][1] if m and m.lastgroup else None


def display_path(resp: httpx.Response) -> str:
    """The request's path, without the ``/v1`` base (as errors show it)."""
    path = resp.request.url.path
    return path[3:] if path.startswith("/v1/") else path


def bad_answer(resp: httpx.Response, problem: str) -> BadAnswer:
    return unusable(
        resp.request.method, display_path(resp), resp.status_code, problem, resp.headers.get("TrackingID")
    )


def unusable(
    method: str, path: str, status: int | None, problem: str, tracking_id: str | None = None
) -> BadAnswer:
    """The ``BadAnswer`` for ``problem`` in an answer to ``method path`` (e.g. one item of a listing)."""
    return BadAnswer(
        method,
        path,
        status,
        f"unexpected answer: {problem}; nothing was written on the strength of it",
        tracking_id,
    )


def answer_json(resp: httpx.Response) -> JSONDict:
    """The body as a JSON object ({} for an empty body); ``BadAnswer`` for anything else."""
    if not resp.content or not resp.content.strip():
        return {}
    try:
        body = parse_json(resp.content)
    except JsonTooDeep as exc:
        raise bad_answer(resp, str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        # masked and escaped before it is cut: never a part of a secret, never a raw control
        sample = api_text(resp.content[:4096].decode("utf-8", "replace"), 60)
        raise bad_answer(resp, f"not valid JSON ({sample}...)") from None
    if not isinstance(body, dict):
        raise bad_answer(resp, f"a JSON {type(body).__name__}, expected an object")
    return body


def checked(resp: httpx.Response, body: JSONDict | None = None, path: str | None = None) -> JSONDict:
    """``answer_json`` plus the fields the planners read from this endpoint (``SHAPES``).

    ``body``: the answer already parsed (an equal answer to another request), checked for this one.
    ``path``: the request's path as ``display_path`` gives it, when the caller knows it.
    """
    if body is None:
        body = answer_json(resp)
    if path is None:
        path = display_path(resp)
    for name, kind in (shape_of(path) or {}).items():
        if name not in body:
            raise bad_answer(resp, f"no {name!r} field")
        if not isinstance(body[name], kind):
            raise bad_answer(resp, f"{name!r} is a {type(body[name]).__name__}")
    mode = body.get("layoutMode")
    if path.endswith("/layout") and mode not in LAYOUT_MODES:
        raise bad_answer(resp, f"layoutMode {mode!r} is none of {sorted(LAYOUT_MODES)}")
    return body


def items_of(resp: httpx.Response, key: str) -> list[JSONDict]:
    """The ``key`` list of a listing page (objects only); ``BadAnswer`` when there is none."""
    body = answer_json(resp)
    value = body.get(key)
    if not isinstance(value, list):
        raise bad_answer(resp, f"no {key!r} list")
    return [item for item in value if isinstance(item, dict)]


def job_problem(job: JSONDict) -> str | None:
    """What makes a job object unusable (no id, an undocumented status or exit code), or None."""
    if not job.get("id") or not isinstance(job.get("id"), str):
        return "a job without an id"
    if len(job["id"]) > 512 or not job["id"].isprintable():
        return "a job id with control characters, or longer than 512 characters"
    status = job.get("latestExecutionStatus")
    if status not in JOB_STATUSES:
        return f"job latestExecutionStatus {status!r} is none of {sorted(JOB_STATUSES)}"
    code = job.get("latestExecutionExitCode")
    if code is not None and code not in JOB_EXIT_CODES:
        return f"job latestExecutionExitCode {code!r} is none of {sorted(JOB_EXIT_CODES)}"
    return None


def check_job(resp: httpx.Response, job: JSONDict) -> JSONDict:
    """A job object with an id and a documented status and exit code."""
    problem = job_problem(job)
    if problem is not None:
        raise bad_answer(resp, problem)
    return job
