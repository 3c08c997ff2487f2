"""Suite-wide rules.

A skipped test proves nothing: under CI (``CI`` set in the environment, as GitHub Actions and
``.ci/run`` do) any skip fails the run, so a test that quietly stops running for want of data or a
tool is noticed. Everything the suite needs is vendored or installed by the test extra.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# Output is checked as it reads where stdout is not a terminal (100 columns): a width inherited from
# the shell, or the 80 that pytest-xdist's workers are started with, would wrap it elsewhere.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


@pytest.hookimpl(optionalhook=True)  # a run without xdist knows no such hook
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core (at most 8). Many tests wait (rate limits, timeouts, jobs,
    listing lags) rather than compute, and a second worker per core fills those waits."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


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


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (made with ``openssl``), as PEM files."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
