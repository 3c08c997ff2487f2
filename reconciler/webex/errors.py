"""API errors specific to the client (all are ``reconciler.errors.ApiError``)."""

from __future__ import annotations

from reconciler.errors import ApiError


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


class PaginationError(ApiError):
    """A ``Link: rel="next"`` the client refuses to follow (another host, bad URL)."""


class JobConflict(ApiError):
    """Starting a job answered 409: a job of that type is already running for the org."""


class JobTimeout(ApiError):
    """A job did not reach a final status within the allowed time."""
