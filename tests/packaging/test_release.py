"""The release path: the release workflow on a version tag, the notes it takes from CHANGELOG.md
(scripts/release_notes.py), the changelog's own rules, and CI building and trying the wheel."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "release_notes.py"
CHANGELOG = ROOT / "CHANGELOG.md"


def _notes() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_notes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notes = _notes()


def _workflow(name: str) -> Any:
    return YAML(typ="safe").load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def _steps(job: Any) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _script(job: Any) -> str:
    return "\n".join(str(s.get("run", "")) for s in _steps(job))


# -- the release workflow -------------------------------------------------------------------------


def test_release_runs_on_version_tags_only() -> None:
    doc = _workflow("release.yml")
    assert doc["on"] == {"push": {"tags": ["v[0-9]*"]}}
    assert doc["permissions"] == {"contents": "read"}  # each job asks for what it needs
    assert list(doc["jobs"]) == ["build", "publish", "github-release"]


def test_release_builds_from_the_tag_and_tests_like_ci() -> None:
    build = _workflow("release.yml")["jobs"]["build"]
    checkout = _steps(build)[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    script = _script(build)
    # notes first: a tag the changelog does not describe stops before anything is built
    assert script.index('scripts/release_notes.py "$GITHUB_REF_NAME"') < script.index("bash .ci/run")
    assert 'test -f "dist/webex_reconciler-$version-py3-none-any.whl"' in script
    assert 'test -f "dist/webex_reconciler-$version.tar.gz"' in script
    uploads = {
        s["with"]["name"]: s["with"]["path"] for s in _steps(build) if "upload-artifact" in s.get("uses", "")
    }
    assert uploads == {"dist": "dist/", "release-notes": "release-notes.md"}


def test_release_publishes_with_trusted_publishing() -> None:
    publish = _workflow("release.yml")["jobs"]["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    (step,) = [s for s in _steps(publish) if "pypi-publish" in s.get("uses", "")]
    assert step["uses"] == "pypa/gh-action-pypi-publish@release/v1"
    assert "password" not in step.get("with", {})  # no API token: PyPI trusts the OIDC identity


def test_release_attaches_the_artifacts_to_the_github_release() -> None:
    job = _workflow("release.yml")["jobs"]["github-release"]
    assert job["needs"] == "publish" and job["permissions"] == {"contents": "write"}
    script = _script(job)
    assert 'gh release create "$GITHUB_REF_NAME" dist/* --verify-tag' in script
    assert "--notes-file release-notes.md" in script
    assert 'gh release upload "$GITHUB_REF_NAME" dist/* --clobber' in script


def test_the_workflow_tag_pattern_and_the_notes_script_agree() -> None:
    for tag in ("v1.2.0", "v0.1.0", "v1.3.0rc1", "v2.0.0b2"):
        assert notes.version_of(tag) == tag[1:]
        assert re.fullmatch(r"v[0-9].*", tag)  # the workflow's glob v[0-9]*
    for bad in ("1.2.0", "v1.2", "v1.2.0-rc.1", "vNext", "v1.2.0.post1"):
        with pytest.raises(notes.NoNotes, match="not a release tag"):
            notes.version_of(bad)


# -- the release notes -----------------------------------------------------------------------------

SAMPLE = """# Changelog

## [Unreleased]

- next

## [1.2.0] - 2027-01-15

- **Plan format**: unchanged.

### Added

- a thing

## [1.1.0] - 2026-12-20

- older
"""


def test_notes_are_the_section_of_the_tag() -> None:
    assert notes.section(SAMPLE, "1.2.0") == "- **Plan format**: unchanged.\n\n### Added\n\n- a thing\n"
    assert notes.section(SAMPLE, "1.1.0") == "- older\n"


@pytest.mark.parametrize(
    ("text", "version", "problem"),
    [
        (SAMPLE, "1.3.0", "no section for 1.3.0"),
        (SAMPLE.replace("[1.2.0] - 2027-01-15", "[1.2.0]"), "1.2.0", "has no date"),
        (SAMPLE.replace("- **Plan format**: unchanged.\n\n### Added\n\n- a thing\n", ""), "1.2.0", "empty"),
        (SAMPLE, "Unreleased", "has no date"),
    ],
)
def test_a_release_without_notes_is_refused(text: str, version: str, problem: str) -> None:
    with pytest.raises(notes.NoNotes, match=problem):
        notes.section(text, version)


def test_the_script_prints_the_notes_or_fails_naming_the_problem(tmp_path: Path) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(SAMPLE, encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), "v1.1.0", "--changelog", str(changelog)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (ok.returncode, ok.stdout) == (0, "- older\n")
    missing = subprocess.run(
        [sys.executable, str(SCRIPT), "v9.9.9"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1 and missing.stdout == ""
    assert "CHANGELOG.md has no section for 9.9.9" in missing.stderr


# -- the changelog ---------------------------------------------------------------------------------


def _sections(text: str) -> dict[str, str]:
    """Each release's section: `## [version]` headings, and the numbered steps before the first
    release (`### 1. ...`)."""
    parts = re.split(r"^(## \[.*\].*|### \d+\. .*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_the_changelog_keeps_an_unreleased_section_first() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    headings = re.findall(r"^## .*$", text, re.M)
    assert headings[0] == "## [Unreleased]"
    for heading in headings[1:]:
        m = notes.HEADING.fullmatch(heading)
        assert m is None or m["date"], heading  # a released version has its date


def test_every_section_calls_out_plan_format_exit_codes_and_manifest_schema() -> None:
    sections = _sections(CHANGELOG.read_text(encoding="utf-8"))
    assert "## [Unreleased]" in sections and len(sections) >= 5
    for heading, body in sections.items():
        for what in ("**Plan format**", "**Exit codes**", "**Manifest schema**"):
            assert what in body, f"{heading}: says nothing about {what}"


# -- CI builds and tries the wheel -----------------------------------------------------------------


def test_ci_builds_checks_installs_and_runs_the_wheel() -> None:
    assert "bash .ci/dist" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    dist = (ROOT / ".ci" / "dist").read_text(encoding="utf-8")
    for command in (
        "-m build --outdir dist .",
        "-m twine check --strict dist/*",
        '"$tmp/user/bin/python" -m pip install --quiet "${wheels[0]}"',  # the wheel, not -e
        '"$reconciler" demo',
        '"$reconciler" validate examples/',
    ):
        assert command in dist, command
    newest = _workflow("ci.yml")["jobs"]["newest"]
    assert "bash .ci/run" in _script(newest)
    assert _steps(newest)[0]["with"]["fetch-depth"] == 0
