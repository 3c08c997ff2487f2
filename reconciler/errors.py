"""The one error tree. Every error a user is meant to read is a ``ReconcilerError``: the command
layer maps it to its exit code in one place (``reconciler.cli.boundary``), prints its message and
its hint (what to do, where there is a fix), and with ``--format json`` puts its stable ``code``
in the error document (schemas/error.schema.json)::

    Exception
     ├── ReconcilerError ................ code           exit
     │    ├── ConfigError ............... config           1  bad invocation or environment
     │    │    └── ProxyConfigError ..... proxy-config     1  a *_PROXY variable that cannot be used
     │    ├── ValidationFailed .......... validation       1  the manifests did not validate
     │    ├── ApiError .................. api              1  an API call failed (after retries)
     │    │    ├── WebexApiError ........ api              1  ... with the API's own descriptions
     │    │    │    └── BadAnswer ....... bad-answer       1  a 2xx answer the client cannot use
     │    │    ├── PaginationError ...... pagination       1  a next-page link the client refuses
     │    │    ├── JobConflict .......... job-conflict     1  a job of that type already runs
     │    │    └── JobTimeout ........... job-timeout      1  a job did not finish in time
     │    ├── PlanRefused ............... plan-refused     1  over the threshold, or not approved
     │    │    ├── StalePlan ............ stale-plan       1  live state changed since a saved plan
     │    │    └── PlanMismatch ......... plan-mismatch    1  a saved plan differs from a new one
     │    ├── LockHeld .................. lock-held        1  another apply of the org is running
     │    └── Interrupted ............... interrupted    130  Ctrl-C
     └── UnreadableFile ................. (not shown as such: a local file that cannot be read,
                                           reported as a diagnostic or a ConfigError naming it)

A problem found in the manifests is a ``reconciler.model.Diagnostic`` (``ValidationFailed``
carries them all); its ``code`` names the check that found it: ``file`` (finding and reading
files), ``yaml`` (parsing), ``manifest`` (apiVersion, kind, metadata, spec), ``schema``,
``semantic`` (offline rules), ``input`` (hostile or out-of-range values), ``env`` (``fromEnv``
variables), ``live`` (what only live state shows, found while planning).

A bug is not a ``ReconcilerError``: it is reported as ``internal`` (exit 1).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "DIAGNOSTIC_CODES",
    "ApiError",
    "BadAnswer",
    "ConfigError",
    "Interrupted",
    "JobConflict",
    "JobTimeout",
    "LockHeld",
    "PaginationError",
    "PlanMismatch",
    "PlanRefused",
    "ProxyConfigError",
    "ReconcilerError",
    "StalePlan",
    "UnreadableFile",
    "ValidationFailed",
    "WebexApiError",
]

DIAGNOSTIC_CODES = ("file", "yaml", "manifest", "schema", "semantic", "input", "env", "live")


class ReconcilerError(Exception):
    """Base of every error a user is meant to read. ``exit_code`` is what the CLI returns,
    ``code`` its stable name in the error document, ``hint`` what to do about it (None when the
    message already says it, or when there is nothing to do)."""

    exit_code = 1
    code: ClassVar[str] = "error"
    default_hint: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class ConfigError(ReconcilerError):
    """Bad invocation or environment: missing token, bad base URL, unreadable file."""

    code = "config"


class ProxyConfigError(ConfigError):
    """A proxy variable that cannot be used (unsupported scheme, no host, not a URL)."""

    code = "proxy-config"


class ValidationFailed(ReconcilerError):
    """Manifests did not validate. ``diagnostics`` holds every problem found."""

    code = "validation"

    def __init__(self, diagnostics: list[object], message: str | None = None) -> None:
        self.diagnostics = diagnostics
        super().__init__(message or f"{len(diagnostics)} problem(s) found in the manifests")


class ApiError(ReconcilerError):
    """A Webex API call failed after retries. Rendered in one line, never with the token."""

    code = "api"

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        message: str,
        tracking_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.api_message = message
        self.tracking_id = tracking_id
        self.attempts = attempts
        status_txt = str(status) if status is not None else "no response"
        text = f"{method} {path} -> {status_txt}: {message}"
        if tracking_id:
            text += f" (trackingId {tracking_id})"
        if attempts > 1:
            text += f" after {attempts} attempts"
        super().__init__(text)


class WebexApiError(ApiError):
    """An API call failed. Adds the Webex ``errors[].description`` list and, for a POST that was
    not retried, whether the server may have applied it anyway (``ambiguous``)."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        message: str,
        tracking_id: str | None = None,
        attempts: int = 1,
        *,
        descriptions: list[str] | None = None,
        ambiguous: bool = False,
        timed_out: bool = False,
    ) -> None:
        super().__init__(method, path, status, message, tracking_id, attempts)
        self.descriptions = list(descriptions or [])
        self.ambiguous = ambiguous
        # No answer in time (a client timeout or a 504): the server may still be working on it.
        self.timed_out = timed_out


class BadAnswer(WebexApiError):
    """A 2xx answer the client cannot use: not JSON, not the expected shape, an unknown value.

    Nothing is written on the strength of such an answer."""

    code = "bad-answer"


class PaginationError(ApiError):
    """A ``Link: rel="next"`` the client refuses to follow (another host, bad URL)."""

    code = "pagination"


class JobConflict(ApiError):
    """Starting a job answered 409: a job of that type is already running for the org."""

    code = "job-conflict"
    default_hint = "wait for the running job to finish (Control Hub shows it), then run again"


class JobTimeout(ApiError):
    """A job did not reach a final status within the allowed time."""

    code = "job-timeout"
    default_hint = "the job may still finish: run apply again to wait for it and check what it did"


class PlanRefused(ReconcilerError):
    """A plan was refused: over the safety threshold, stale, or not confirmed."""

    code = "plan-refused"


class StalePlan(PlanRefused):
    """A saved plan no longer matches live state."""

    code = "stale-plan"


class PlanMismatch(PlanRefused):
    """A saved plan differs from what the manifests and live state call for now."""

    code = "plan-mismatch"


class LockHeld(ReconcilerError):
    """Another apply holds the lock of this org."""

    code = "lock-held"


class Interrupted(ReconcilerError):
    """The user interrupted the run (Ctrl-C)."""

    exit_code = 130
    code = "interrupted"
    default_hint = "run the same command again: the apply log holds what was done"


class UnreadableFile(Exception):
    """Why a file is not read: not a regular file, too large, or an OS error."""
