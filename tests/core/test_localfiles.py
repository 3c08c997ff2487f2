"""``read_capped``: a regular file is read in one read of its reported size (plus the byte that shows
its end), and a file that reports no size (as /proc files do) is still read to its end."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler import localfiles
from reconciler.localfiles import UnreadableFile, read_capped


def _counting_reads(monkeypatch: pytest.MonkeyPatch, step: int | None = None) -> list[int]:
    """Count ``os.read`` calls; with ``step``, each returns at most ``step`` bytes (short reads)."""
    calls: list[int] = []
    real = os.read

    def read(fd: int, n: int) -> bytes:
        calls.append(n)
        return real(fd, n if step is None else min(n, step))

    monkeypatch.setattr(localfiles.os, "read", read)
    return calls


def test_a_small_file_is_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes(b"kind: Device\n" * 100)
    calls = _counting_reads(monkeypatch)
    assert read_capped(path, 1 << 20) == b"kind: Device\n" * 100
    assert calls == [1301]  # its size and one more byte: no 1 MiB buffer for a 1.3 KB file


def test_a_file_without_a_reported_size_is_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "status"
    data = bytes(range(256)) * 40
    path.write_bytes(data)
    real_fstat = os.fstat

    def fstat(fd: int) -> Any:  # what /proc reports: a regular file of size 0
        return SimpleNamespace(st_mode=real_fstat(fd).st_mode, st_size=0)

    monkeypatch.setattr(localfiles.os, "fstat", fstat)
    calls = _counting_reads(monkeypatch, step=1000)  # short reads that are not the end
    assert read_capped(path, 1 << 20) == data
    assert len(calls) == 12  # 11 reads of data, one empty read at the end
    with pytest.raises(UnreadableFile, match="too large"):
        read_capped(path, 5000)
