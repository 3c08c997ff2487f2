"""Every local file the tool reads is read with bounds: never a hang, never out of memory.

For each local file (the parse cache, the apply log, a saved plan, the token file) a FIFO (a
read would wait for a writer forever), ``/dev/zero`` (a read never ends), a symlink to either (git
can commit one) and a 3 GB file (sparse: no disk used) each give one clean error naming the file,
or, for the parse cache (an optimisation, never an input), are ignored. Nothing is sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import EXAMPLES, Harness, tally
from .hostile_cli import SimCli, refused, sim_cli

__all__ = ["sim_cli"]

GB3 = 3 * 1024**3


def hostile(path: Path, kind: str) -> str:
    """Make ``path`` a FIFO, a symlink to /dev/zero, a symlink to a FIFO, or a 3 GB file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
        return "a FIFO, not a regular file"
    if kind == "zero":
        path.symlink_to("/dev/zero")
        return "a character device, not a regular file"
    if kind == "link-to-fifo":
        os.mkfifo(path.with_name(path.name + ".fifo"))
        path.symlink_to(path.with_name(path.name + ".fifo"))
        return "a FIFO, not a regular file"
    with open(path, "wb") as fh:
        fh.truncate(GB3)  # sparse: 3 GB long, nothing on disk
    return "file too large (3,221,225,472 bytes"


KINDS = ["fifo", "zero", "link-to-fifo", "3gb"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_parse_cache_is_ignored(sim_cli: SimCli, tmp_path: Path, kind: str) -> None:
    hostile(tmp_path / ".reconciler" / "parse-cache.bin", kind)
    run = sim_cli("validate", "repo", env={"RECONCILER_PARSE_CACHE": ""}, timeout=30)
    assert run.result.exit_code == 0 and "valid" in run.output, run.output
    tally("parse cache: FIFO, /dev/zero, symlinks to them, 3 GB", "ignored (validate ends normally)")


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_apply_log_is_one_clean_error(sim_cli: SimCli, tmp_path: Path, kind: str) -> None:
    log = tmp_path / "log.jsonl"
    reason = hostile(log, kind)
    run = sim_cli("apply", "repo", "--auto-approve", "--log", str(log), timeout=30)
    refused(run, f"cannot read apply log {log}: {reason}")
    run = sim_cli("apply", "--resume", str(log), "--auto-approve", timeout=30)
    refused(run, f"cannot read apply log {log}: {reason}")
    tally("apply log: FIFO, /dev/zero, symlinks to them, 3 GB", "one clean error, 0 requests")


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_saved_plan_is_one_clean_error(sim_cli: SimCli, tmp_path: Path, kind: str) -> None:
    plan = tmp_path / "plan.json"
    reason = hostile(plan, kind)
    refused(sim_cli("show", str(plan), timeout=30), f"cannot read saved plan {plan}: {reason}")
    run = sim_cli("apply", "--plan", str(plan), "--auto-approve", timeout=30)
    refused(run, f"cannot read saved plan {plan}: {reason}")
    tally("saved plan (show, apply --plan): FIFO, /dev/zero, symlinks to them, 3 GB", "one clean error")


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_token_file_is_one_clean_error(
    harness: Callable[..., Harness], tmp_path: Path, kind: str
) -> None:
    h = harness()
    token = tmp_path / "token"
    reason = hostile(token, kind)
    r = h.run("plan", str(EXAMPLES), "--token-file", str(token))
    assert r.exit_code == 1, r.output
    assert f"cannot read token file {token}: {reason}" in r.output, r.output
    assert "internal error" not in r.output and not h.perturb.seen
    tally("token file: FIFO, /dev/zero, symlinks to them, 3 GB", "one clean error, 0 requests")
