"""Start-up: what a run imports that it does not use is CPU on every run (a CI plan of a pull
request is mostly start-up). httpx's own command line (rich, pygments) is never loaded, and
jsonschema only when a file needs its messages (docs/benchmarks.md has the numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

_PROBE = """
import json, sys
from reconciler.cli import main
args = json.loads(sys.argv[1])
if args:
    try:
        main(args, standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in ("rich", "pygments", "jsonschema", "httpx._main") if m in sys.modules)))
print(json.dumps(getattr(sys.modules.get("httpx._main"), "__doc__", None)))
"""


def loaded(tmp_path: Path, *args: str) -> tuple[list[str], str | None]:
    """The heavy modules a fresh ``reconciler ARGS`` process had loaded when it ended, and the
    docstring of what stands as ``httpx._main``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "RECONCILER_PARSE_CACHE": str(tmp_path / "cache.bin"),
            "XDG_CACHE_HOME": str(tmp_path / "home-cache"),
        },
    )
    modules, doc = done.stdout.strip().splitlines()[-2:]
    return json.loads(modules), json.loads(doc)


def test_the_command_line_loads_neither_httpx_cli_nor_jsonschema(tmp_path: Path) -> None:
    modules, doc = loaded(tmp_path)
    assert modules == ["httpx._main"] and doc is not None and "not loaded" in doc


def test_valid_manifests_are_checked_without_jsonschema_and_invalid_ones_with_it(tmp_path: Path) -> None:
    for _ in range(2):  # with an empty parse cache, then with a full one
        modules, _doc = loaded(tmp_path, "validate", str(EXAMPLES))
        assert "jsonschema" not in modules and "rich" not in modules
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: x}\nspec: {mac: 12, model: 7}\n",
        encoding="utf-8",
    )
    modules, _doc = loaded(tmp_path, "validate", str(bad))
    assert "jsonschema" in modules
