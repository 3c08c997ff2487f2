"""Kill apply (SIGKILL, SIGINT) at random points; a re-run converges with nothing repeated or lost.

Runs the real CLI in a subprocess against `reconciler sim serve` on loopback, as a user would.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLES

DATA_ROUTES = ("/members", "/layout", "/settings", "/lineKeyTemplates", "/hoteling", "/devices")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "sim", "serve", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=(tmp / f"sim-{self.port}.log").open("w"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("simulator did not start")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_sim/stats", timeout=5) as r:
            data: dict[str, Any] = json.load(r)
        return data

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def make() -> Server:
        s = Server(tmp_path)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def apply_cmd(server: Server, log: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reconciler.cli",
        "apply",
        str(EXAMPLES),
        "--base-url",
        server.url,
        "--auto-approve",
        "--log",
        str(log),
    ]


def env() -> dict[str, str]:
    return {**os.environ, "WEBEX_ACCESS_TOKEN": "interrupt-test-token", "NO_COLOR": "1"}


def data_writes(stats: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in stats["writes_by_route"].items() if k.endswith(DATA_ROUTES) and v}


def finish(server: Server, log: Path, tmp: Path) -> str:
    """Re-run apply until it exits 0 (at most 3 times); return its output."""
    for _ in range(3):
        r = subprocess.run(
            apply_cmd(server, log), env=env(), capture_output=True, text=True, timeout=180, cwd=tmp
        )
        if r.returncode == 0:
            return r.stdout + r.stderr
    raise AssertionError(f"apply did not finish:\n{r.stdout}\n{r.stderr}")


def test_killed_applies_converge_without_repeats(server_factory: Any, tmp_path: Path) -> None:
    reference = server_factory()
    out = finish(reference, tmp_path / "ref.jsonl", tmp_path)
    assert "Converged" in out
    ref = reference.stats()
    ref_writes = data_writes(ref)
    assert ref_writes, ref["writes_by_route"]
    rng = random.Random(int(os.environ.get("INTERRUPT_SEED", "11")))
    rounds = int(os.environ.get("INTERRUPT_ROUNDS", "4"))
    for i in range(rounds):
        server = server_factory()
        log = tmp_path / f"apply-{i}.jsonl"
        proc = subprocess.Popen(
            apply_cmd(server, log), env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path
        )
        time.sleep(rng.uniform(0.8, 3.0))
        sig = signal.SIGINT if i % 2 else signal.SIGKILL
        proc.send_signal(sig)
        proc.wait(timeout=60)
        if sig == signal.SIGINT and proc.returncode not in (0, 1):
            assert proc.returncode == 130, proc.stdout.read() if proc.stdout else ""
        out = finish(server, log, tmp_path)
        assert "Converged" in out or "Nothing to apply" in out, out
        stats = server.stats()
        # Nothing repeated: every data write happened exactly as often as in an uninterrupted run,
        # and no job was started more often.
        assert data_writes(stats) == ref_writes, (i, sig, data_writes(stats), ref_writes)
        for job_type, count in stats["jobs_started_by_type"].items():
            assert count <= ref["jobs_started_by_type"].get(job_type, 0), (i, sig, job_type, stats)
        server.stop()
