"""Every ```yaml example in the README is a valid manifest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.model import KINDS
from reconciler.render.text import render_validation_text
from reconciler.validation.validate import validate_text

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
# Relative paths in the examples (BackgroundImages) resolve as if the block were a file here:
AS_IF_IN = ROOT / "examples" / "org" / "README-example.yaml"


def blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_an_example_of_every_kind() -> None:
    kinds = {m for b in blocks() for m in re.findall(r"^kind: (\w+)$", b, re.M)}
    assert kinds == set(KINDS)


def test_readme_quick_start() -> None:
    text = README.read_text(encoding="utf-8")
    assert "pip install . && reconciler demo" in text
    assert "pip install -e '.[test]' && pytest" in text


@pytest.mark.parametrize("block", blocks(), ids=lambda b: re.findall(r"^kind: (\w+)$", b, re.M)[0])
def test_readme_example_is_valid(block: str) -> None:
    result = validate_text(block, str(AS_IF_IN))
    assert result.diagnostics == [], render_validation_text(result)
    assert len(result.resources) == 1
