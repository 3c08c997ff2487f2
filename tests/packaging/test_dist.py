"""What a release holds: the sdist and the wheel built from this tree, as `python -m build` makes
them in CI and in the release workflow (sdist first, the wheel from the sdist), their version from
the git tag, and every file an installed reconciler reads.

The builds run on a copy of the tree (what git tracks, plus new files not yet committed), so the
working tree is left alone. `.ci/dist` then installs the real build into a fresh venv and runs it.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TAG = "v9.8.7"
VERSION = "9.8.7"
# What a copy without git metadata (and no archive data) installs as: [tool.setuptools_scm] in
# pyproject.toml.
FALLBACK_VERSION = "0.0.0"

# The package data an installed reconciler reads at run time, named one by one: a packaging change
# that drops any of them fails here. The rules in `required_in_wheel` add every module and every
# file of these folders.
PACKAGE_DATA = (
    "reconciler/py.typed",
    "reconciler/_version.py",
    "reconciler/schemas/manifest.schema.json",
    "reconciler/schemas/device-settings.schema.json",
    "reconciler/schemas/Device.schema.json",
    "reconciler/schemas/Policy.schema.json",
    "reconciler/schemas/plan.schema.json",
    "reconciler/schemas/validate.schema.json",
    "reconciler/schemas/apply.schema.json",
    "reconciler/schemas/drift.schema.json",
    "reconciler/schemas/error.schema.json",
    "reconciler/sim/data/spec_schemas.json",
    "reconciler/examples/.reconcilerignore",
    "reconciler/examples/README.md",
    "reconciler/examples/policy.yaml",
    "reconciler/examples/org/company-logo.png",
    "reconciler/examples/org/device-settings.yaml",
    "reconciler/examples/templates/sales-8851.yaml",
    "reconciler/examples/locations/headquarters/settings.yaml",
    "reconciler/examples/locations/headquarters/devices/0A1B2C3D4E01.yaml",
    "reconciler/examples/github-workflows/plan-on-pull-request.yml",
    "reconciler/examples/github-workflows/apply-on-merge.yml",
    "reconciler/examples/github-workflows/nightly-drift.yml",
)

# What the sdist carries besides the sources: the licence, its notices and the attribution of the
# vendored material, the changelog, and what the version is read from when there is no git.
SDIST_EXTRAS = (
    "PKG-INFO",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "NOTICE",
    "CHANGELOG.md",
    ".git_archival.txt",
    "third_party/README.md",
    "examples/policy.yaml",
    "examples/.reconcilerignore",
)

# Names in the tree that are never part of a build (caches, environments, earlier builds).
_NOT_SOURCES = {
    ".git", ".venv", ".venv-ci", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".hypothesis", ".reconciler", "_version.py",
}  # fmt: skip


def source_files(root: Path) -> list[str]:
    """The tree's files as a build sees them: what git tracks plus new files it does not ignore."""
    if (root / ".git").exists():
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True,
        ).stdout.decode()  # fmt: skip
        return sorted(n for n in out.split("\0") if n and os.path.lexists(root / n))
    found = []  # an unpacked sdist: everything but caches and builds
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _NOT_SOURCES and not d.endswith(".egg-info")]
        here = Path(dirpath).relative_to(root)
        found += [(here / f).as_posix() for f in filenames if f not in _NOT_SOURCES]
    return sorted(found)


def copy_tree(root: Path, dest: Path) -> list[str]:
    names = source_files(root)
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target, follow_symlinks=False)
    return names


def required_in_wheel(sources: list[str]) -> set[str]:
    """Every module, every schema, every simulator data file and every example, at its place in
    the installed package, and the named package data."""
    need = set(PACKAGE_DATA)
    for name in sources:
        if name.startswith("reconciler/") and (
            name.endswith(".py") or name.startswith(("reconciler/schemas/", "reconciler/sim/data/"))
        ):
            need.add(name)
        elif name.startswith("examples/"):
            need.add(f"reconciler/{name}")
    return need


def missing(names: set[str], need: set[str] | tuple[str, ...]) -> list[str]:
    return sorted(set(need) - names)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPTOOLS_SCM_PRETEND_VERSION")}
    # the developer's own git configuration (signing, hooks, templates) stays out of these repos
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


def _git(repo: Path, *args: str) -> None:
    ident = ["-c", "user.name=reconciler tests", "-c", "user.email=tests@example.invalid"]
    subprocess.run(["git", *ident, *args], cwd=repo, env=_env(), check=True, capture_output=True)


def build(src: Path, out: Path, *what: str) -> list[Path]:
    """`python -m build` without isolation (the test extra has the build requirements)."""
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", *what, "--outdir", str(out), str(src)],
        env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return sorted(out.iterdir(), key=lambda p: p.suffix != ".gz")  # the sdist first


@dataclass
class Built:
    sources: list[str]
    sdist: Path
    wheel: Path
    repo: Path


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The tree committed and tagged in a repository of its own, built as a release is."""
    tmp = tmp_path_factory.mktemp("dist")
    repo = tmp / "repo"
    sources = copy_tree(ROOT, repo)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "release")
    _git(repo, "tag", TAG)
    sdist, wheel = build(repo, tmp / "dist")
    return Built(sources, sdist, wheel, repo)


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def _sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as t:
        return {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name and m.isfile()}


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(z.read(name).decode())


def test_the_release_is_named_by_the_tag(tagged: Built) -> None:
    assert tagged.sdist.name == f"webex_reconciler-{VERSION}.tar.gz"
    assert tagged.wheel.name == f"webex_reconciler-{VERSION}-py3-none-any.whl"
    assert _metadata(tagged.wheel)["Version"] == VERSION
    with zipfile.ZipFile(tagged.wheel) as z:
        assert f'__version__ = "{VERSION}"' in z.read("reconciler/_version.py").decode()


def test_the_wheel_holds_every_module_and_all_package_data(tagged: Built) -> None:
    need = required_in_wheel(tagged.sources)
    assert set(PACKAGE_DATA) <= need and len(need) > 120
    assert missing(_wheel_names(tagged.wheel), need) == []


def test_the_wheel_holds_nothing_else(tagged: Built) -> None:
    names = _wheel_names(tagged.wheel)
    dist_info = f"webex_reconciler-{VERSION}.dist-info/"
    assert {n.split("/", 1)[0] + "/" for n in names} == {"reconciler/", dist_info}
    extra = {n for n in names if not n.startswith(dist_info)} - required_in_wheel(tagged.sources)
    assert extra == set()


def test_the_wheel_carries_the_licence_and_the_command(tagged: Built) -> None:
    meta = _metadata(tagged.wheel)
    assert meta["Name"] == "webex-reconciler"
    assert meta["License-Expression"] == "Apache-2.0"
    assert sorted(meta.get_all("License-File") or []) == ["LICENSE", "NOTICE"]
    assert meta["Requires-Python"] == ">=3.11"
    dist_info = f"webex_reconciler-{VERSION}.dist-info"
    with zipfile.ZipFile(tagged.wheel) as z:
        licence = z.read(f"{dist_info}/licenses/LICENSE").decode()
        notice = z.read(f"{dist_info}/licenses/NOTICE").decode()
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    assert "CC BY 4.0" in notice and "reconciler/sim/data/spec_schemas.json" in notice
    assert "reconciler = reconciler.cli:console" in entry_points


def test_the_sdist_holds_the_sources_the_licence_and_the_attribution(tagged: Built) -> None:
    names = _sdist_names(tagged.sdist)
    assert missing(names, SDIST_EXTRAS) == []
    examples = [n for n in tagged.sources if n.startswith("examples/")]
    assert len(examples) > 20 and missing(names, tuple(examples)) == []
    assert not any(n.startswith("reconciler/examples/") for n in names)  # one copy: examples/


def test_a_git_archive_of_the_tag_installs_as_the_tag(tagged: Built, tmp_path: Path) -> None:
    """GitHub's "Source code" downloads are `git archive`s: .git_archival.txt carries the version."""
    archive = tmp_path / "src.tar"
    _git(tagged.repo, "archive", "--format=tar", "-o", str(archive), TAG)
    with tarfile.open(archive) as t:
        t.extractall(tmp_path / "src", filter="data")
    assert not (tmp_path / "src" / ".git").exists()
    (wheel,) = build(tmp_path / "src", tmp_path / "dist", "--wheel")
    assert wheel.name == f"webex_reconciler-{VERSION}-py3-none-any.whl"


def test_a_copy_without_git_metadata_still_installs(tmp_path: Path) -> None:
    """A copy with no .git and no archive data (the archival file left unexpanded) gets the
    fallback version instead of failing, and still ships the examples."""
    sources = copy_tree(ROOT, tmp_path / "src")
    assert "$Format:" in (tmp_path / "src" / ".git_archival.txt").read_text()
    (wheel,) = build(tmp_path / "src", tmp_path / "dist", "--wheel")
    assert wheel.name == f"webex_reconciler-{FALLBACK_VERSION}-py3-none-any.whl"
    names = _wheel_names(wheel)
    assert missing(names, required_in_wheel(sources)) == []


def test_a_wheel_missing_a_file_is_caught(tagged: Built, tmp_path: Path) -> None:
    """The check above can fail: a wheel without one example and one schema is reported."""
    gone = {"reconciler/examples/policy.yaml", "reconciler/schemas/plan.schema.json"}
    names = _wheel_names(tagged.wheel) - gone
    assert missing(names, required_in_wheel(tagged.sources)) == sorted(gone)
