"""Keeping secrets (access tokens, client secrets, refresh tokens) out of text and logs.

Every secret the client holds is registered here; ``redact()`` masks any registered secret in a
string, and ``RedactingFilter`` does the same for log records. The filter is attached to the
``reconciler.webex`` logger (and to ``httpx``'s) on import; the CLI may also attach it to its own
handlers so that no record from any library can carry a secret to the terminal.
"""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import quote

MASK = "***"
LOGGER_NAME = "reconciler.webex"

# Credentials shorter than this are not registered (masking short common substrings would garble
# text, and a real Webex token is far longer). A manifest's fromEnv value is masked whatever its
# length (``any_length``): a short password is still a password.
_MIN_SECRET_LEN = 8

_lock = threading.Lock()
_secrets: set[str] = set()
_credentials: set[str] = set()  # the tool's own (tokens, client secret): never sent as data


class Secret:
    """A string that never shows itself in ``repr()``/``str()``; ``.get()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value, credential=True)

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def register_secret(value: str | None, *, any_length: bool = False, credential: bool = False) -> None:
    """Remember ``value`` so that ``redact()`` and the log filter mask it from now on;
    ``credential``: one of the tool's own (``is_credential``), never sent as a manifest's value."""
    if value and credential:
        with _lock:
            _credentials.add(value.strip())
    if value and (any_length or len(value) >= _MIN_SECRET_LEN):
        # also as an error message may quote it: escaped (a CR/LF or non-ASCII character in a
        # header value is reported as repr() of its bytes) or percent-free UTF-8 escapes
        forms = {value, value.encode("unicode_escape").decode("ascii")}
        forms.add(repr(value.encode("utf-8", "backslashreplace"))[2:-1])
        # and as a server that quotes the request's body shows it: a JSON string's text, escaped
        # the way the body was sent (ASCII or not), and percent-encoded as in a query string
        forms.add(json.dumps(value)[1:-1])
        forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
        forms.add(quote(value, safe=""))
        with _lock:
            _secrets.update(forms)


def is_credential(value: str) -> bool:
    """Whether ``value`` is one of the tool's own credentials (surrounding blanks aside)."""
    with _lock:
        return value.strip() in _credentials


def is_secret(value: str) -> bool:
    """Whether ``value`` is (exactly) a registered secret (or a quoted form of one)."""
    with _lock:
        return value in _secrets


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in the message, its args and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def redaction_filter() -> RedactingFilter:
    """The shared filter instance (attach it to a handler: ``handler.addFilter(...)``)."""
    return _FILTER


def install_redaction(*names: str) -> None:
    """Attach the redacting filter to the named loggers (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


install_redaction(LOGGER_NAME, "httpx")
