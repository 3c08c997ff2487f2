"""The simulator's API error: turned into a Webex error body by the app."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answer: ``{"message", "errors": [{"description"}], "trackingId"}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        descriptions: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.descriptions = descriptions or [message]
        self.headers = headers or {}


def bad_request(message: str, descriptions: list[str] | None = None) -> ApiError:
    return ApiError(400, message, descriptions=descriptions)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found.")
