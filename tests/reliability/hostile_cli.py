"""A fixture shared by the hostile-input tests: ``reconciler`` through click with the simulator
injected, returning the result and the simulator's request counter (which must stay at zero for
input the tool refuses)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

GOOD = (Path(__file__).resolve().parents[2] / "examples" / "people" / "alice.yaml").read_text(
    encoding="utf-8"
)


@dataclass
class Run:
    result: Result
    requests: int

    @property
    def output(self) -> str:
        return self.result.output


class SimCli:
    def __init__(self, tmp: Path) -> None:
        self.app = create_app(seed="demo")
        self.sim = self.app.state.sim
        self.repo = tmp / "repo"
        self.repo.mkdir()
        (self.repo / "good.yaml").write_text(GOOD, encoding="utf-8")

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Run:
        """Run the CLI in a thread; a run still going after ``timeout`` seconds fails the test
        (a hang must not hang the suite)."""
        self.sim.stats.reset()
        box: dict[str, Result] = {}

        def go() -> None:
            box["r"] = CliRunner().invoke(main, list(args), env=env, catch_exceptions=True)

        t = threading.Thread(target=go, daemon=True)
        t.start()
        t.join(timeout)
        assert not t.is_alive(), f"reconciler {' '.join(args)} still running after {timeout} s"
        return Run(box["r"], self.sim.stats.requests_total)


@pytest.fixture
def sim_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimCli]:
    cli = SimCli(tmp_path)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=cli.app))
    monkeypatch.chdir(tmp_path)
    yield cli


def refused(run: Run, *needles: str) -> None:
    """Exit 1, no traceback, each needle in the output, and no request sent."""
    out = run.output
    assert run.result.exit_code == 1, out
    assert "Traceback" not in out and "internal error" not in out, out
    for needle in needles:
        assert needle in out, (needle, out)
    assert run.requests == 0, out


Check = Callable[..., Any]
