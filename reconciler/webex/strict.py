"""What counts as an answer: only a 2xx is success.

A 3xx is never followed (a redirect could send the bearer token to another host) and never taken
for "done": a settings PUT answered 307 changed nothing that the client can know of. A 1xx that
reaches the client is no answer either. Each is one clean ``WebexApiError`` naming the endpoint,
the status and where the server wanted to send the request (its host only: a URL's path and
query can hold anything).
"""

from __future__ import annotations

import httpx

from reconciler.webex.errors import WebexApiError
from reconciler.webex.untrusted import api_text, without_userinfo


def _target(resp: httpx.Response) -> str:
    location = resp.headers.get("Location")
    if not location:
        return ""
    try:
        host = httpx.URL(without_userinfo(location)).host
    except Exception:  # an unparsable Location: not worth more than its absence
        return ""
    return f" to {api_text(host, 80)}" if host else " (a relative Location)"


def not_success(
    method: str, shown: str, resp: httpx.Response, tracking_id: str, attempts: int, *, ambiguous: bool
) -> WebexApiError:
    """The error for an answer outside 2xx that is not an error status (1xx, 3xx)."""
    status = resp.status_code
    kind = "a redirect" if 300 <= status < 400 else "not a final answer"
    tracking = api_text(resp.headers.get("TrackingID") or tracking_id, 120)
    return WebexApiError(
        method,
        shown,
        status,
        f"the API answered {status} ({kind}{_target(resp)}), which is not success: not followed, "
        "and nothing is taken as done",
        tracking,
        attempts,
        ambiguous=ambiguous,
    )
