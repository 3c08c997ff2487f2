"""The Webex API client: the only package of the project that touches the network.

``make_client(...)`` builds a ``WebexClient`` from CLI options and the environment; the client's
methods (from ``WebexApi``) wrap every endpoint the kinds use; ``reconciler.webex.jobs`` starts and
polls bulk jobs. See docs/client.md.
"""

from __future__ import annotations

from reconciler.webex import (
    _lean_aiohttp,  # noqa: F401  (before aiohttp: its TLS contexts unmade)
    _lean_httpx,  # noqa: F401  (first: httpx without its command line)
)
from reconciler.webex.auth import Auth
from reconciler.webex.client import DEFAULT_BASE_URL, ClientStats, WebexClient, make_client
from reconciler.webex.errors import JobConflict, JobTimeout, PaginationError, WebexApiError
from reconciler.webex.jobs import (
    JOB_PATHS,
    get_job,
    job_errors,
    list_jobs,
    start_job,
    wait_for_running_jobs,
    wait_job,
)
from reconciler.webex.redact import RedactingFilter, redact, redaction_filter

__all__ = [
    "DEFAULT_BASE_URL",
    "JOB_PATHS",
    "Auth",
    "ClientStats",
    "JobConflict",
    "JobTimeout",
    "PaginationError",
    "RedactingFilter",
    "WebexApiError",
    "WebexClient",
    "get_job",
    "job_errors",
    "list_jobs",
    "make_client",
    "redact",
    "redaction_filter",
    "start_job",
    "wait_for_running_jobs",
    "wait_job",
]
