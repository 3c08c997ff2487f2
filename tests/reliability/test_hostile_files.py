"""Hostile files in a manifest repository: FIFOs, devices, symlinks out of the repository, images
that are not regular files or live outside it. Each is refused with the file named, exit 1, and no
request sent; nothing blocks and nothing is read without bound."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.manifests.discovery import UnreadableFile, read_capped

from .conftest import EXAMPLES, tally
from .hostile_cli import SimCli, refused, sim_cli

__all__ = ["sim_cli"]

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
IMAGES = """apiVersion: reconciler/v1
kind: BackgroundImages
metadata:
  name: org
spec:
  images:
    - fileName: Logo
      path: {path}
"""


@needs_fifo
def test_a_fifo_named_yaml_is_refused_without_blocking(sim_cli: SimCli) -> None:
    os.mkfifo(sim_cli.repo / "pipe.yaml")
    run = sim_cli("plan", "repo", timeout=20)
    refused(run, "repo/pipe.yaml:1:1", "not a regular file")
    run = sim_cli("validate", "repo/pipe.yaml", timeout=20)  # named directly, too
    refused(run, "repo/pipe.yaml:1:1", "not a regular file")


def test_a_symlink_to_dev_zero_is_refused_unread(sim_cli: SimCli) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    os.symlink("/dev/zero", sim_cli.repo / "zero.yaml")
    run = sim_cli("plan", "repo", timeout=20)
    refused(run, "zero.yaml")
    # named directly on the command line: not a regular file either
    refused(sim_cli("validate", "repo/zero.yaml", timeout=20), "repo/zero.yaml:1:1", "not a regular file")


def test_read_capped_reads_at_most_cap_plus_one_bytes(tmp_path: Path) -> None:
    f = tmp_path / "f.yaml"
    f.write_bytes(b"x" * 100)
    assert read_capped(f, 100) == b"x" * 100
    with pytest.raises(UnreadableFile, match="too large"):
        read_capped(f, 99)
    if os.path.exists("/dev/zero"):
        with pytest.raises(UnreadableFile, match="not a regular file"):
            read_capped("/dev/zero", 10)


def test_symlinks_out_of_the_walked_directory_are_refused(sim_cli: SimCli, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("password: hunter2\n", encoding="utf-8")
    os.symlink(outside, sim_cli.repo / "etc")  # a directory
    run = sim_cli("plan", "repo")
    refused(run, "repo/etc:1:1", "outside repo: refused")
    assert "hunter2" not in run.output
    os.remove(sim_cli.repo / "etc")
    os.symlink(outside / "secret.yaml", sim_cli.repo / "passwd.yaml")  # a file
    run = sim_cli("plan", "repo")
    refused(run, "repo/passwd.yaml:1:1", "outside repo: refused")
    assert "hunter2" not in run.output


def test_symlinks_inside_the_walked_directory_still_work(sim_cli: SimCli) -> None:
    (sim_cli.repo / "people").mkdir()
    shutil.move(sim_cli.repo / "good.yaml", sim_cli.repo / "people" / "alice.yaml")
    os.symlink("people", sim_cli.repo / "staff")  # a loop-free alias inside the repo
    run = sim_cli("validate", "repo")
    assert run.result.exit_code == 0, run.output


def _images_repo(sim_cli: SimCli, path: str) -> None:
    (sim_cli.repo / "images.yaml").write_text(IMAGES.format(path=path), encoding="utf-8")
    shutil.copy(EXAMPLES / "org" / "company-logo.png", sim_cli.repo / "logo.png")


def test_an_image_outside_the_repository_is_refused(sim_cli: SimCli, tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "org" / "company-logo.png", tmp_path / "elsewhere.png")
    _images_repo(sim_cli, "../elsewhere.png")
    refused(sim_cli("plan", "repo"), "repo/images.yaml:8:", "resolves outside the repository")
    _images_repo(sim_cli, str(tmp_path / "elsewhere.png"))  # absolute
    refused(sim_cli("plan", "repo"), "repo/images.yaml:8:", "resolves outside the repository")
    os.symlink(tmp_path / "elsewhere.png", sim_cli.repo / "link.png")  # a symlink out
    _images_repo(sim_cli, "link.png")
    refused(sim_cli("plan", "repo"), "repo/images.yaml:8:", "resolves outside the repository")


def test_an_image_that_is_not_a_regular_file_is_refused(sim_cli: SimCli) -> None:
    if hasattr(os, "mkfifo"):
        os.mkfifo(sim_cli.repo / "pipe.png")
        _images_repo(sim_cli, "pipe.png")
        refused(sim_cli("plan", "repo", timeout=20), "repo/images.yaml:8:", "not a regular file")
    (sim_cli.repo / "dir.png").mkdir()
    _images_repo(sim_cli, "dir.png")
    refused(sim_cli("plan", "repo", timeout=20), "repo/images.yaml:8:", "not a regular file")


def test_an_image_in_the_repository_is_still_planned(sim_cli: SimCli) -> None:
    _images_repo(sim_cli, "logo.png")
    run = sim_cli("plan", "repo")
    assert run.result.exit_code == 0, run.output
    assert "Logo" in run.output


def _png(width: int, height: int, *, cut: int = 0) -> bytes:
    """A PNG whole in its structure (IHDR, IDAT, IEND with their CRCs), ``cut`` bytes short."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
    data += chunk(b"IEND", b"")
    return data[: len(data) - cut] if cut else data


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("logo.png", b"this is a text file, not an image\n", "is neither a PNG nor a JPEG image"),
        ("logo.png", _png(800, 480, cut=7), "is not a whole PNG image"),
        ("logo.jpg", _png(800, 480), "holds a PNG image but is named '.jpg'"),
        ("logo.png", _png(5000, 480), "is 5000x480 pixels"),
        ("logo.png", _png(0, 480), "is 0x480 pixels"),
    ],
)
def test_an_image_is_checked_by_its_content_before_any_request(
    sim_cli: SimCli, name: str, content: bytes, problem: str
) -> None:
    (sim_cli.repo / "images.yaml").write_text(IMAGES.format(path=name), encoding="utf-8")
    (sim_cli.repo / name).write_bytes(content)
    for command in ("validate", "plan"):
        refused(sim_cli(command, "repo"), "repo/images.yaml:8:", f"image '{name}' {problem}")
    tally("image files checked by content at validate and plan", "refused with file:line, 0 requests")


def test_a_whole_png_of_a_phone_screen_size_is_planned(sim_cli: SimCli) -> None:
    (sim_cli.repo / "images.yaml").write_text(IMAGES.format(path="screen.png"), encoding="utf-8")
    (sim_cli.repo / "screen.png").write_bytes(_png(800, 480))
    run = sim_cli("plan", "repo")
    assert run.result.exit_code == 0, run.output
    assert "upload background image" in run.output
