"""The retry decision (``reconciler.webex.retry.decide``), row by row of its table in docs/client.md.

Each row of the table has exactly one case here, and the table, these cases and the rules in the
code name the same ids: a rule added to the code without a row and a case fails the suite.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.webex import retry
from reconciler.webex.retry import Action, Attempt, Decision, Happened, Policy, ServerSilent, classify, decide

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "client.md"


def backoff(n: int) -> float:
    """A back-off without jitter: 0.5 s, 1 s, 1.5 s, ... (the decision only passes it through)."""
    return 0.5 * n


POLICY = Policy(max_attempts=12, timeout=30.0, backoff=backoff)


def rule_of(method: str, happened: Happened, **facts: Any) -> str:
    return decide(Attempt(method, happened, **facts), POLICY).rule


SILENT = "the server has answered no request for 61 s"

# rule id: (what happened, the decision it gets)
CASES: dict[str, tuple[dict[str, Any], Decision]] = {
    "A1": (dict(method="GET", happened=Happened.ANSWER, status=200), Decision("A1", Action.DONE)),
    "A2": (dict(method="POST", happened=Happened.ANSWER, status=307), Decision("A2", Action.FAIL)),
    "A3": (
        dict(method="PUT", happened=Happened.ANSWER, status=401, can_refresh=True),
        Decision("A3", Action.REFRESH),
    ),
    "A4": (
        dict(method="POST", happened=Happened.ANSWER, status=423, retry_after=2.0, number=5),
        Decision("A4", Action.RETRY, 2.0, whole_client=True),
    ),
    "A5": (
        dict(method="POST", happened=Happened.ANSWER, status=429, number=3),
        Decision("A5", Action.RETRY, 1.5, whole_client=True),
    ),
    "A6": (
        dict(method="PUT", happened=Happened.ANSWER, status=423, number=2),
        Decision("A6", Action.RETRY, 1.0),
    ),
    "A7": (
        dict(method="GET", happened=Happened.ANSWER, status=429, retry_after=86400.0, time_left=299.6),
        Decision(
            "A7",
            Action.FAIL,
            note="the server asks to wait 86400 s (Retry-After), longer than the 300 s left of this "
            "request's retry budget; not retried",
        ),
    ),
    "A8": (
        dict(method="GET", happened=Happened.ANSWER, status=423, number=10, time_left=4.0),
        Decision("A8", Action.FAIL, note="the retry budget of this request is spent; not retried"),
    ),
    "A9": (
        dict(method="GET", happened=Happened.ANSWER, status=503, retry_after=3.0, failures=2),
        Decision("A9", Action.RETRY, 3.0),
    ),
    "A10": (
        dict(method="DELETE", happened=Happened.ANSWER, status=500, failures=12),
        Decision("A10", Action.FAIL),
    ),
    "A11": (
        dict(method="POST", happened=Happened.ANSWER, status=502, failures=1),
        Decision("A11", Action.FAIL),
    ),
    "A12": (
        dict(method="GET", happened=Happened.ANSWER, status=401, can_refresh=True, refreshed=True),
        Decision("A12", Action.FAIL),
    ),
    "T1": (dict(method="GET", happened=Happened.TOO_LARGE, status=200), Decision("T1", Action.FAIL)),
    "N1": (dict(method="GET", happened=Happened.UNTRUSTED, failures=1), Decision("N1", Action.FAIL)),
    "N2": (dict(method="GET", happened=Happened.SERVER_SILENT, failures=1), Decision("N2", Action.FAIL)),
    "N3": (
        dict(method="GET", happened=Happened.TIMED_OUT, failures=2, timeouts=2),
        Decision("N3", Action.FAIL, note="no answer within 30 s, 2 times: not retried"),
    ),
    "N4": (
        dict(method="GET", happened=Happened.NOT_SENT, failures=1, timeouts=1, server_silent=SILENT),
        Decision("N4", Action.FAIL, note=f"{SILENT}: not retried"),
    ),
    "N5": (dict(method="GET", happened=Happened.REFUSED, failures=3), Decision("N5", Action.FAIL)),
    "N6": (dict(method="POST", happened=Happened.DROPPED, failures=1), Decision("N6", Action.FAIL)),
    "N7": (dict(method="GET", happened=Happened.DROPPED, failures=12), Decision("N7", Action.FAIL)),
    "N8": (
        dict(method="POST", happened=Happened.REFUSED, failures=2),
        Decision("N8", Action.RETRY, 0.25),
    ),
    "N9": (
        dict(method="POST", happened=Happened.NOT_SENT, failures=3, timeouts=1),
        Decision("N9", Action.RETRY, 1.5),
    ),
}


@pytest.mark.parametrize("rule", list(CASES))
def test_each_row_of_the_table(rule: str) -> None:
    facts, expected = CASES[rule]
    assert decide(Attempt(**facts), POLICY) == expected


def _documented_rules() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### The decision, rule by rule", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([ANT]\d+) \|", section, flags=re.MULTILINE)


def test_the_table_the_cases_and_the_code_name_the_same_rules() -> None:
    in_code = set(re.findall(r'"([ANT]\d+)"', Path(retry.__file__).read_text(encoding="utf-8")))
    documented = _documented_rules()
    assert len(documented) == len(set(documented)), "a rule is listed twice in docs/client.md"
    assert set(documented) == set(CASES) == in_code


def test_the_rules_are_tried_in_the_documented_order() -> None:
    """The table's order is the order of precedence: where two rows' conditions both hold, the
    earlier one decides (a refused connection past max_attempts fails by N5, not N7; a POST timing
    out a second time by N3, not N6)."""
    assert _documented_rules() == list(CASES)
    assert rule_of("GET", Happened.REFUSED, failures=12) == "N5"
    assert rule_of("POST", Happened.TIMED_OUT, failures=1, timeouts=2) == "N3"


def test_a_zero_retry_after_still_waits_a_little() -> None:
    got = decide(Attempt("GET", Happened.ANSWER, status=429, retry_after=0.0), POLICY)
    assert got == Decision("A4", Action.RETRY, retry.MIN_THROTTLE_WAIT_S, whole_client=True)


def test_retry_post_makes_a_post_repeatable_after_a_5xx_and_a_drop() -> None:
    assert (
        decide(Attempt("POST", Happened.ANSWER, status=503, retry_post=True, failures=1), POLICY).rule == "A9"
    )
    assert (
        decide(Attempt("POST", Happened.TIMED_OUT, retry_post=True, failures=1, timeouts=1), POLICY).rule
        == "N9"
    )


def test_a_wait_that_reaches_the_end_of_the_budget_is_not_made() -> None:
    """``wait >= time left`` fails: a retry never sleeps to the very end of the budget."""
    assert (
        decide(Attempt("GET", Happened.ANSWER, status=500, failures=2, time_left=1.0), POLICY).rule == "A10"
    )
    assert decide(Attempt("GET", Happened.DROPPED, failures=2, time_left=1.0), POLICY).rule == "N7"
    assert decide(Attempt("GET", Happened.DROPPED, failures=2, time_left=1.01), POLICY).rule == "N9"


def _untrusted() -> httpx.ConnectError:
    exc = httpx.ConnectError("handshake failed")
    exc.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")
    return exc


@pytest.mark.parametrize(
    ("exc", "untrusted", "happened"),
    [
        (ServerSilent("not sent"), False, Happened.SERVER_SILENT),
        (_untrusted(), True, Happened.UNTRUSTED),
        (httpx.ConnectError("refused"), False, Happened.REFUSED),
        (httpx.ConnectTimeout("no connection"), False, Happened.NOT_SENT),
        (httpx.PoolTimeout("no free connection"), False, Happened.NOT_SENT),
        (httpx.ReadTimeout("no answer"), False, Happened.TIMED_OUT),
        (httpx.WriteTimeout("stuck"), False, Happened.TIMED_OUT),
        (httpx.RemoteProtocolError("malformed answer"), False, Happened.DROPPED),
        (httpx.ReadError("reset"), False, Happened.DROPPED),
    ],
)
def test_transport_failures_are_classified(
    exc: httpx.TransportError, untrusted: bool, happened: Happened
) -> None:
    assert classify(exc, untrusted) is happened
