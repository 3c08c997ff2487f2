"""`reconciler demo`, the README's main job, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main


def test_demo_tells_the_whole_story_and_converges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = r.output
    steps = [
        "1. validate",
        "2. plan",
        "3. apply",
        "4. plan again",
        "5. someone changes",
        "6. drift",
        "7. apply again",
    ]
    positions = [out.index(s) for s in steps]
    assert positions == sorted(positions)
    assert "manifests in" in out and ": valid" in out
    again = out[out.index("4. plan again") : out.index("5. someone changes")]
    assert "No changes" in again
    drift = out[out.index("6. drift") : out.index("7. apply again")]
    assert '~ settings.customizations.mpp.backlightTimer: "ONE_MIN" -> "FIVE_MIN"' in drift
    assert out.rstrip().endswith("Converged: live state matches examples/.")
    assert not list(tmp_path.iterdir())  # the demo leaves nothing behind
