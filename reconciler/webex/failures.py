"""The ``WebexApiError`` of a failed request, built from what went wrong: an error answer (its
Webex ``message``, ``errors[].description`` and ``trackingId``), a transport failure (with a hint
when the server's TLS certificate is refused) or an answer larger than the client reads.

Text from the server is masked, escaped and cut (``untrusted.api_text``) before it is kept.
"""

from __future__ import annotations

import ssl

import httpx

from reconciler.webex.errors import WebexApiError
from reconciler.webex.retry import NOT_SENT_ERRORS, RETRY_STATUSES
from reconciler.webex.untrusted import JsonTooDeep, api_text, parse_json


class AnswerTooLarge(Exception):
    """An answer over the client's cap, refused unread (``size`` bytes or more)."""

    def __init__(self, size: int, status: int, tracking_id: str | None) -> None:
        super().__init__(size)
        self.size = size
        self.status = status
        self.tracking_id = tracking_id


def answer_ambiguous(status: int, idempotent: bool) -> bool:
    """Whether a failed request that got this status may still have been applied: a 5xx the
    client does not repeat (a POST), or a 1xx/3xx answer to a request that is not idempotent."""
    if idempotent:
        return False
    return status in RETRY_STATUSES or status < 200 or 300 <= status < 400


def answer_error(
    method: str,
    shown: str,
    resp: httpx.Response,
    sent_tid: str,
    attempts: int,
    *,
    ambiguous: bool,
    can_refresh: bool,
    note: str = "",
) -> WebexApiError:
    """The error for an answer of status 400 or more (``note``: why it was not retried)."""
    message, descriptions, body_tid = parse_error(resp)
    text = message
    extra = [d for d in dict.fromkeys(descriptions) if d and d not in message]
    if extra:
        text = f"{message}: {'; '.join(extra)}" if message else "; ".join(extra)
    if resp.status_code == 401:
        hint = "refresh did not help" if can_refresh else "no refresh credentials"
        text = f"{text or 'Unauthorized'} (the access token was refused: {hint})"
    if note:
        text = f"{text or resp.reason_phrase or 'error'} ({note})"
    tracking = api_text(body_tid or resp.headers.get("TrackingID") or sent_tid, 120)
    return WebexApiError(
        method,
        shown,
        resp.status_code,
        api_text(text or resp.reason_phrase or "error"),
        tracking,
        attempts,
        descriptions=[api_text(d) for d in descriptions],
        ambiguous=ambiguous,
        timed_out=resp.status_code == 504,
    )


def transport_error(
    method: str,
    shown: str,
    failure: httpx.TransportError,
    tracking_id: str,
    attempts: int,
    *,
    idempotent: bool,
    note: str = "",
) -> WebexApiError:
    """The error for an attempt without a (complete) answer; ``note`` is added to its detail."""
    name = type(failure).__name__
    not_sent = isinstance(failure, NOT_SENT_ERRORS)
    detail = str(failure)
    if note:
        detail += f" ({note})"
    untrusted = tls_verify_failure(failure)
    if untrusted:
        detail = (
            f"the server's TLS certificate is not trusted ({untrusted}); "
            "point SSL_CERT_FILE at your CA bundle if you use a private CA"
        )
    return WebexApiError(
        method,
        shown,
        None,
        api_text(f"{name}: {detail}" if detail else name),
        tracking_id,
        attempts,
        ambiguous=not not_sent and not idempotent,
        timed_out=isinstance(failure, httpx.TimeoutException) and not not_sent,
    )


def too_large_error(
    method: str,
    shown: str,
    exc: AnswerTooLarge,
    limit: int,
    tracking_id: str,
    attempts: int,
    *,
    idempotent: bool,
) -> WebexApiError:
    return WebexApiError(
        method,
        shown,
        exc.status,
        f"the answer is larger than {limit} bytes ({exc.size} bytes or more); refusing to read it",
        exc.tracking_id or tracking_id,
        attempts,
        ambiguous=not idempotent,
    )


def tls_verify_failure(exc: BaseException | None) -> str | None:
    """The reason, when ``exc`` is a refused server certificate (retrying cannot help)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return str(exc.verify_message or exc.reason or "certificate verify failed")
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return "certificate verify failed"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def parse_error(resp: httpx.Response) -> tuple[str, list[str], str | None]:
    """``(message, [errors[].description], trackingId)`` from a Webex error body."""
    try:
        body = parse_json(resp.content)
    except JsonTooDeep as exc:
        return f"{resp.reason_phrase or 'error'} (the error answer is {exc})", [], None
    except (ValueError, UnicodeDecodeError):
        # masked and escaped before it is cut (``api_text``), never the other way round
        text = resp.content[:8192].decode("utf-8", "replace").strip().replace("\n", " ")
        return (text if text else resp.reason_phrase), [], None
    if not isinstance(body, dict):
        return resp.reason_phrase, [], None
    message = body.get("message")
    descriptions: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, dict) and isinstance(err.get("description"), str):
                descriptions.append(err["description"])
    tid = body.get("trackingId")
    return (
        message if isinstance(message, str) else resp.reason_phrase,
        descriptions,
        tid if isinstance(tid, str) else None,
    )
