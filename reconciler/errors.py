"""The one user-facing error base. The CLI maps these to exit codes in one place."""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base of every error a user is meant to read. ``exit_code`` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ReconcilerError):
    """Bad invocation or environment: missing token, bad base URL, unreadable file."""


class ValidationFailed(ReconcilerError):
    """Manifests did not validate. ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: list[object], message: str | None = None) -> None:
        self.diagnostics = diagnostics
        super().__init__(message or f"{len(diagnostics)} problem(s) found in the manifests")


class ApiError(ReconcilerError):
    """A Webex API call failed after retries. Rendered in one line, never with the token."""

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


class PlanRefused(ReconcilerError):
    """A plan was refused: over the safety threshold, stale, or not confirmed."""


class StalePlan(PlanRefused):
    """A saved plan no longer matches live state."""


class Interrupted(ReconcilerError):
    """The user interrupted the run (Ctrl-C)."""

    exit_code = 130
