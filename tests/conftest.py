"""Suite-wide rules.

A skipped test proves nothing: under CI (``CI`` set in the environment, as GitHub Actions and
``.ci/run`` do) any skip fails the run, so a test that quietly stops running for want of data or a
tool is noticed. Everything the suite needs is vendored or installed by the test extra.
"""

from __future__ import annotations

import os

import pytest


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _ci() or exitstatus not in (pytest.ExitCode.OK,):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            print(f"\nCI: skipped test counts as a failure: {report.nodeid}: {reason}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
