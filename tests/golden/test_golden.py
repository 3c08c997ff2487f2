"""The demo org's outputs, compared whole with the files beside this test.

A difference fails with the unified diff. After a deliberate change of output, rewrite the files
with ``python -m tests.golden --update`` and review what changed.
"""

from __future__ import annotations

import difflib

import pytest

from .scenario import HERE, check_json, outputs

GOLDEN = sorted(p.name for p in HERE.iterdir() if p.suffix in (".txt", ".md", ".json"))


@pytest.fixture(scope="module")
def produced() -> dict[str, str]:
    found = outputs()
    check_json(found)
    return found


def test_every_golden_file_is_produced_and_nothing_else(produced: dict[str, str]) -> None:
    assert sorted(produced) == GOLDEN


@pytest.mark.parametrize("name", GOLDEN)
def test_output_matches_its_golden_file(produced: dict[str, str], name: str) -> None:
    expected = (HERE / name).read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(expected.splitlines(True), produced[name].splitlines(True), name, "now")
    )
    assert produced[name] == expected, f"{name} differs (python -m tests.golden --update):\n{diff}"
