"""A plan through the real CLI, over a socket, against a simulator that allows a few requests per
second: with default flags it must succeed (the client adapts how many requests it keeps in flight
and retries 429s for as long as its time budget lasts, not a fixed number of times)."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import EXAMPLES, Harness


def test_plan_succeeds_against_a_tight_rate_limit_with_default_flags(harness: Callable[..., Harness]) -> None:
    h = harness(rate_limit=3)
    result = h.run("plan", str(EXAMPLES))
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "429" not in result.output
    assert h.sim.stats.rate_limited_total > 0
