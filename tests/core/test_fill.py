"""Helper processes for a large empty-cache load: the same resources and problems, in the same order,
as the parent alone, whether the helpers answer or fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.validation import fill, parse_cache

ROOT = Path(__file__).resolve().parents[2]


def _files() -> list[str]:
    from reconciler.manifests.discovery import discover

    files, _ = discover([ROOT / "examples", ROOT / "tests" / "manifests"])
    return files


def _load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: int, name: str = ""
) -> tuple[object, ...]:
    """The load of every fixture with an empty cache (``name``: its file) and ``workers`` helpers."""
    monkeypatch.setenv(fill.ENV, str(workers))
    cache = tmp_path / f"cache-{workers}{name}.bin"
    assert not cache.exists()
    monkeypatch.setenv(parse_cache.ENV, str(cache))
    resources, diags, checked = parse_cache.load_checked(_files())
    shown = [(r.address, r.metadata, r.spec, r.source, dict(r.positions.items())) for r in resources]
    return shown, [str(d) for d in diags], [str(d) for d in checked]


def test_helpers_give_what_the_parent_alone_gives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    alone = _load(monkeypatch, tmp_path, 0)
    shared = _load(monkeypatch, tmp_path, 2)
    assert shared == alone
    assert alone[1] and alone[2]  # the invalid fixtures: load and schema problems both compared


def test_a_helper_answers_entries_the_parent_decodes() -> None:
    files = _files()[:5]
    cached = parse_cache.entry_key(files[0], Path(files[0]).read_text(encoding="utf-8"))
    answer = fill.Helper((files, [cached])).answer()
    assert set(answer) == set(files)
    assert answer[files[0]] == (cached, None)  # what the cache holds is not made again
    for file in files[1:]:
        key, entry = answer[file]
        assert key == parse_cache.entry_key(file, Path(file).read_text(encoding="utf-8"))
        resources, _, _ = parse_cache.decode(file, entry)
        assert all(r.source.file == file for r in resources)


def test_a_failing_helper_costs_only_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    alone = _load(monkeypatch, tmp_path, 0)
    monkeypatch.setattr(fill, "_CHILD", "import sys; sys.stdout.write('not marshal'); sys.exit(0)")
    assert _load(monkeypatch, tmp_path, 1, "garbled") == alone
    monkeypatch.setattr(fill, "_CHILD", "import sys; sys.exit(3)")
    assert _load(monkeypatch, tmp_path, 1, "failed") == alone


def test_helpers_only_for_large_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fill.ENV, raising=False)
    assert fill.workers_for(fill.THRESHOLD - 1) == 0
    monkeypatch.setattr(fill.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert fill.workers_for(10 * fill.THRESHOLD) == 0  # one CPU: nothing to share with
    monkeypatch.setattr(fill.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert fill.workers_for(fill.THRESHOLD) == 1
