"""What a failed command tells its user: one line with what to do next, or one JSON document.

The CLI's error boundary (``reconciler.cli.handle_errors``) calls ``describe`` for text and
``error_document`` for ``--format json``; both add the same hints (an unreachable host, a base
URL that does not end in ``/v1``). Long lists of problems are capped (``capped``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from reconciler import __version__
from reconciler.errors import ApiError, ReconcilerError, ValidationFailed

ERROR_FORMAT_VERSION = 1
DEFAULT_BASE_URL = "https://webexapis.com/v1"
MAX_LISTED = 50  # problems listed in text before "... and N more"

# the transport errors that mean "no connection could be made": the host is wrong or down
_UNREACHABLE = ("ConnectError", "ConnectTimeout")


def capped(lines: list[str], limit: int = MAX_LISTED, more: str = "") -> list[str]:
    """The first ``limit`` lines, then ``... and N more`` (with ``more`` appended) when cut."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"... and {len(lines) - limit} more{more}"]


def hint(exc: BaseException, base_url: str | None) -> str | None:
    """What to check when ``exc`` most likely comes from the base URL, else None."""
    if not isinstance(exc, ApiError):
        return None
    base = base_url or DEFAULT_BASE_URL
    if exc.status is None and exc.api_message.startswith(_UNREACHABLE):
        host = urlsplit(base).netloc or base
        return f"cannot reach {host}: check --base-url / WEBEX_BASE_URL and the network"
    if exc.status == 404 and not urlsplit(base).path.rstrip("/").endswith("/v1"):
        return f"is the base URL right? it usually ends in /v1 (the base URL is {base})"
    return None


def code_of(exc: BaseException) -> str:
    """The stable code of ``exc`` (``reconciler.errors``); ``internal`` for a bug."""
    return exc.code if isinstance(exc, ReconcilerError) else "internal"


def hint_for(exc: BaseException, base_url: str | None) -> str | None:
    """What to do about ``exc``: a hint drawn from the base URL first, else the error's own."""
    found = hint(exc, base_url)
    if found is None and isinstance(exc, ReconcilerError):
        return exc.hint
    return found


def describe(exc: ReconcilerError, base_url: str | None = None) -> str:
    """The one line shown for ``exc``, its hint first when there is one."""
    found = hint(exc, base_url)
    return f"{found} ({exc})" if found else str(exc)


def error_entries(exc: BaseException, base_url: str | None = None) -> list[dict[str, Any]]:
    """The ``errors`` of the error document: one per diagnostic, or one for the error itself."""
    if isinstance(exc, ValidationFailed):
        entries = []
        for d in exc.diagnostics:
            to_json = getattr(d, "to_json", None)
            entry: dict[str, Any] = dict(to_json()) if callable(to_json) else {"message": str(d)}
            entry.setdefault("type", "validation")
            entries.append(entry)
        return entries
    entry = {"type": _error_type(exc), "code": code_of(exc), "message": str(exc)}
    if isinstance(exc, ApiError):
        entry.update(
            method=exc.method,
            endpoint=exc.path,
            status=exc.status,
            trackingId=exc.tracking_id,
            attempts=exc.attempts,
        )
    found = hint_for(exc, base_url)
    if found:
        entry["hint"] = found
    return [entry]


def error_document(exc: BaseException, base_url: str | None = None) -> dict[str, Any]:
    """The JSON a failed command prints with ``--format json`` (schemas/error.schema.json)."""
    message = str(exc) if isinstance(exc, ReconcilerError) else f"internal error ({type(exc).__name__})"
    return {
        "format_version": ERROR_FORMAT_VERSION,
        "kind": "error",
        "tool": {"name": "reconciler", "version": __version__},
        "ok": False,
        "code": code_of(exc),
        "message": message,
        "exit_code": getattr(exc, "exit_code", 1),
        "errors": error_entries(exc, base_url),
    }


def _error_type(exc: BaseException) -> str:
    """``api``, ``plan_refused``, ``config``, ... : the error's class as a snake_case word."""
    from reconciler.errors import ConfigError, Interrupted, PlanRefused

    for cls, name in (
        (ApiError, "api"),
        (PlanRefused, "plan_refused"),
        (ConfigError, "config"),
        (Interrupted, "interrupted"),
    ):
        if isinstance(exc, cls):
            return name
    return "error" if isinstance(exc, ReconcilerError) else "internal"
