"""export_yaml.fast_text writes a new manifest exactly as ruamel.yaml does, or declines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.harness import export_in_process
from reconciler.flows import export as export_module
from reconciler.flows.export import ruamel_text
from reconciler.flows.export_yaml import fast_text
from reconciler.sim.app import create_app


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.yaml"))}


@pytest.mark.parametrize("seed", [1, 7])
def test_export_text_is_ruamel_text(seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(seed=seed, devices=120, job_duration_s=0)
    taken: list[bool] = []

    def counted(doc: dict[str, Any], comment: str | None) -> str | None:
        text = fast_text(doc, comment)
        taken.append(text is not None)
        if text is not None:
            assert text == ruamel_text(doc, comment)
        return text

    monkeypatch.setattr(export_module, "fast_text", counted)
    fast = _files(export_in_process(app, tmp_path / "fast"))
    monkeypatch.setattr(export_module, "fast_text", lambda doc, comment: None)
    slow = _files(export_in_process(app, tmp_path / "slow"))
    assert fast == slow
    assert len(fast) > 120
    # the fast path is the common one: device files, templates, most settings files
    assert sum(taken) > 0.9 * len(taken)


@pytest.mark.parametrize("value", ["OFF", "On", "yes", "redial|1;newcall|2;cfwd|3", "a|b c;d"])
def test_yaml11_words_and_soft_key_lists_are_written_directly(value: str) -> None:
    """``OFF`` double-quoted as export._scalar has it (a YAML 1.1 boolean), a soft key list bare;
    in a map, in a list and in a flow-style list item."""
    doc = {"kind": "Device", "spec": {"v": value, "l": [value], "f": [{"k": value, "x": 1}]}}
    text = fast_text(doc, None)
    assert text is not None and text == ruamel_text(doc, None)
    assert (f'v: "{value}"' if value.lower() in ("off", "on", "yes") else f"v: {value}") in text


def test_simple_device_is_written_directly() -> None:
    doc = {
        "apiVersion": "reconciler/v1",
        "kind": "Device",
        "metadata": {"mac": "0A:1B:2C:3D:4E:5F"},
        "spec": {
            "members": [
                {
                    "person": "a.b@example.com",
                    "port": 1,
                    "primaryOwner": True,
                    "lineType": "PRIMARY",
                    "lineWeight": 1,
                    "hotlineEnabled": False,
                    "lineLabel": "A B",
                }
            ],
            "layout": {"layoutMode": "CUSTOM", "lineKeys": [{"lineKeyIndex": 1, "lineKeyValue": "4357"}]},
            "settings": {
                "customEnabled": True,
                "customizations": {"mpp": {"customUrl": "", "tags": ["x", "z1"]}},
            },
        },
    }
    text = fast_text(doc, "DMS Cisco 8851, owner a.b@example.com")
    assert text is not None
    assert text == ruamel_text(doc, "DMS Cisco 8851, owner a.b@example.com")
    assert "lineKeyValue: '4357'" in text and "customUrl: ''" in text


@pytest.mark.parametrize(
    "value",
    [
        None,
        1.5,
        "yes",
        "Null",
        "a: b",
        "x #y",
        "über",
        "-1",
        " a",
        "a  b",
        "12:34",
        "0x1F",
        "a,b",
        "|a",
        ";a",
    ],
)
def test_declines_what_it_cannot_be_sure_of(value: Any) -> None:
    doc = {"kind": "Device", "spec": {"v": value}}
    text = fast_text(doc, None)
    assert text is None or text == ruamel_text(doc, None)


_TEXT = st.text(alphabet="aZ09 _.-@/:#,'\"{}[]&*!|>%`~?=+\\\n\tüE;", max_size=14)
_WORD = st.sampled_from(["on", "OFF", "Yes", "n", "Y", "true", "False", "null", "~"])  # YAML 1.1 words
_NEAR_PLAIN = st.text(alphabet="aEfZ019 _.-@/:+|;", max_size=10)  # mostly written directly
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=False),
    _TEXT,
    _NEAR_PLAIN,
    _WORD,
)
_KEY = st.one_of(st.text(alphabet="abXY09_-. :", min_size=0, max_size=8), _WORD)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEY, inner, max_size=7)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEY, _VALUE, min_size=1, max_size=6), st.one_of(st.none(), _TEXT))
def test_random_documents_match_ruamel_or_are_declined(doc: dict[str, Any], comment: str | None) -> None:
    text = fast_text(doc, comment or None)
    if text is not None:
        assert text == ruamel_text(doc, comment or None)
