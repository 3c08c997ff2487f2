"""``sim serve`` option errors are usage errors: one line, exit 1, nothing started.

Each bad value is refused by its option's type before a socket is opened or an org is built
(``--rate-limit 0`` used to be "internal error (ValueError)"); a state file that is no loadable
regular file is one line too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--rate-limit", "0"], "'--rate-limit': 0.0 is not in the range x>0"),
        (["--rate-limit", "-5"], "'--rate-limit'"),
        (["--rate-limit", "nan"], "'--rate-limit': 'nan' is not a finite number"),
        (["--latency-ms", "inf"], "'--latency-ms'"),
        (["--latency-ms", "-1"], "'--latency-ms'"),
        (["--error-rate", "nan"], "'--error-rate': 'nan' is not a finite number"),
        (["--error-rate", "2"], "'--error-rate'"),
        (["--listing-lag", "-1"], "'--listing-lag'"),
        (["--seed", "1", "--devices", "99999999"], "'--devices': 99999999 is not in the range"),
        (["--port", "70000"], "'--port'"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_1(args: list[str], needle: str) -> None:
    r = CliRunner().invoke(main, ["sim", "serve", *args], prog_name="reconciler")
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Invalid value for "), r.output
    assert needle in lines[0] and "(see 'reconciler sim serve --help')" in lines[0]
    assert "internal error" not in r.output


def test_a_bad_state_file_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "state.json"
    garbage.write_text("not json")
    cases = {str(garbage): "cannot read simulator state"}
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.json")
        cases[str(tmp_path / "fifo.json")] = "a FIFO, not a regular file"
    for path, needle in cases.items():
        r = CliRunner().invoke(main, ["sim", "serve", "--port", "0", "--state", path])
        assert r.exit_code == 1, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "internal error" not in r.output, r.output
