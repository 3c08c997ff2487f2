"""The apply log is written only as a file of its own: a symbolic link at its path (dangling, or to
an existing file) is moved aside like an earlier log, never written through. Before, a dangling
link made apply create its target (anywhere the link pointed) and append the log to it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Harness, record


@pytest.mark.parametrize("target_exists", [False, True])
def test_a_link_at_the_log_path_is_never_written_through(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path, target_exists: bool
) -> None:
    h = harness()
    victim = tmp_path / "elsewhere" / "victim.txt"
    victim.parent.mkdir()
    if target_exists:
        victim.write_text("keep me\n")
    log = tmp_path / "state" / "apply-log.jsonl"
    log.parent.mkdir()
    os.symlink(victim, log)
    r = h.run("apply", "repo", "--auto-approve", "--log", str(log))
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert not log.is_symlink() and log.is_file() and '"event": "begin"' in log.read_text()
    if target_exists:
        assert victim.read_text() == "keep me\n"
    else:
        assert not victim.exists()
    kept = [p for p in log.parent.iterdir() if p != log]
    assert kept and all(p.is_symlink() for p in kept)  # the link moved aside, like an earlier log
    record(
        f"apply log path is a symbolic link ({'to a file' if target_exists else 'dangling'})",
        result="moved aside, a new log written; the target untouched",
    )
