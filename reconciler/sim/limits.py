"""Bounds on what one request can make the simulator do.

No work or memory of the simulator is sized by a number taken from a request before that number is
bounded. The numbers the API takes (ports, line weights, key indexes, timers, ``start``, ``max``)
are 32-bit integers, so a larger one, an infinity or a NaN is the API's 400 before anything is built
from it:

* request bodies: at most :data:`MAX_BODY_BYTES` (413 beyond, decided from ``Content-Length`` or
  while reading), JSON without ``NaN``/``Infinity``, at most :data:`MAX_DEPTH` levels deep; a
  number under a name the spec's request schemas type as a number within :data:`MAX_INT` either
  side of 0, any other number (a ``lastUpdateTime`` in milliseconds sent back with the rest of a
  GET answer, which the API ignores) within :data:`MAX_EXACT` (:func:`parse_json`);
* numeric query parameters: finite and within the same bound (:func:`query_number`);
* the ports a member takes (``port`` .. ``port + lineWeight - 1``): only the model's own ports are
  ever visited (:func:`member_ports`), whatever the weight.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import Message, Receive, Scope

from .errors import ApiError, bad_request
from .validation import numeric_fields

MAX_INT = 2**31 - 1
"""The largest magnitude of any number the API takes (a 32-bit integer)."""
MAX_EXACT = 2**53 - 1
"""The largest magnitude of an integer JSON carries exactly (a double's 53-bit mantissa)."""
MAX_BODY_BYTES = 2 * 1024 * 1024
"""Request body limit: twice a background image's 625 KB with room for its multipart envelope."""
MAX_DEPTH = 32
"""JSON nesting limit: the deepest request schema (device settings) is under ten levels."""
MAX_PROBLEMS = 20
SHOWN = 40  # characters of a request value echoed in a message


def _clip(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def _shown(raw: str) -> str:
    return repr(_clip(raw))


def out_of_range(value: Any, bound: int = MAX_INT) -> bool:
    """True for a number beyond ``bound`` either side of 0, or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return True
    return abs(value) > bound


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(raw: bytes | str) -> Any:
    """The parsed body, or ApiError(400): not JSON, too deep, or a number out of range."""
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise bad_request(f"Invalid request body: nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None
    problems = body_problems(value)
    if problems:
        raise bad_request("Invalid request body: " + problems[0], problems)
    return value


def body_problems(body: Any) -> list[str]:
    """Numbers out of range and nesting beyond :data:`MAX_DEPTH` (at most :data:`MAX_PROBLEMS`)."""
    problems: list[str] = []
    todo: list[tuple[Any, tuple[str, ...]]] = [(body, ())]
    while todo and len(problems) < MAX_PROBLEMS:
        value, where = todo.pop()
        if len(where) > MAX_DEPTH:
            return [f"nested deeper than {MAX_DEPTH} levels."]
        if isinstance(value, dict):
            todo.extend((v, (*where, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend((v, (*where, str(i))) for i, v in enumerate(value))
        else:
            bound = MAX_INT if where and where[-1] in numeric_fields() else MAX_EXACT
            if out_of_range(value, bound):
                place = "/".join(where) or "(body)"
                problems.append(
                    f"{place}: {_clip(str(value))} is out of range (at most {bound} either side of 0)."
                )
    return sorted(problems)


def query_number(name: str, raw: str) -> float:
    """A numeric query parameter's value, or ApiError(400)."""
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"Query parameter {name} must be a number, not {_shown(raw)}.") from None
    if out_of_range(value):
        raise bad_request(f"Query parameter {name} is out of range (at most {MAX_INT} either side of 0).")
    return value


def member_ports(port: int, weight: int, line_ports: int) -> tuple[range, int | None]:
    """The ports from ``port`` for ``weight`` lines that the model has, and the first one it lacks.

    The range never extends past the model's ports, so the work is bounded by the model whatever
    the weight; ``None`` when every port the member takes exists.
    """
    last = port + max(1, weight) - 1
    inside = range(max(port, 1), min(last, line_ports) + 1)
    if port < 1:
        return inside, port
    if last > line_ports:
        return inside, max(port, line_ports + 1)
    return inside, None


def too_large() -> ApiError:
    return ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")


def declared_too_large(scope: Scope) -> bool:
    """True when the request's ``Content-Length`` says the body is over the limit."""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return text.isdigit() and (len(text) > 12 or int(text) > MAX_BODY_BYTES)
    return False


def bounded_receive(receive: Receive) -> Receive:
    """``receive`` that raises ApiError(413) once the body read so far is over the limit."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise too_large()
        return message

    return wrapped
