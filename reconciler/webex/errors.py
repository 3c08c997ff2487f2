"""API errors specific to the client: defined in ``reconciler.errors`` (the one error tree, drawn
there) and importable from here too."""

from __future__ import annotations

from reconciler.errors import BadAnswer as BadAnswer
from reconciler.errors import JobConflict as JobConflict
from reconciler.errors import JobTimeout as JobTimeout
from reconciler.errors import PaginationError as PaginationError
from reconciler.errors import WebexApiError as WebexApiError

__all__ = ["BadAnswer", "JobConflict", "JobTimeout", "PaginationError", "WebexApiError"]
