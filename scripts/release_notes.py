#!/usr/bin/env python3
"""Print the CHANGELOG.md section of a release tag: the notes of its GitHub release.

Usage::

    python scripts/release_notes.py v1.2.0 > notes.md
    python scripts/release_notes.py v1.3.0rc1 --changelog path/to/CHANGELOG.md

Exits 1, naming the problem, when the tag is not ``vX.Y.Z`` (a pre-release may follow as a PEP 440
suffix: ``a1``, ``b2``, ``rc1``), or when the changelog has no ``## [X.Y.Z] - YYYY-MM-DD`` section
for it, or that section is empty: the release workflow runs this first, so no version is published
without its notes.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parents[1] / "CHANGELOG.md"
TAG = re.compile(r"v(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)")
HEADING = re.compile(r"## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*")


class NoNotes(Exception):
    """The tag or the changelog does not allow a release."""


def version_of(tag: str) -> str:
    m = TAG.fullmatch(tag)
    if m is None:
        raise NoNotes(f"tag {tag!r} is not a release tag: expected vX.Y.Z, e.g. v1.2.0 or v1.3.0rc1")
    return m["version"]


def section(changelog: str, version: str) -> str:
    """The body of ``## [version] - date``, up to the next second-level heading."""
    lines = changelog.splitlines()
    for i, line in enumerate(lines):
        m = HEADING.fullmatch(line)
        if m is None or m["version"] != version:
            continue
        if m["date"] is None:
            raise NoNotes(
                f"CHANGELOG.md: the heading of {version} has no date: `## [{version}] - YYYY-MM-DD`"
            )
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
        body = "\n".join(lines[i + 1 : end]).strip()
        if not body:
            raise NoNotes(f"CHANGELOG.md: the section of {version} is empty")
        return body + "\n"
    raise NoNotes(
        f"CHANGELOG.md has no section for {version}: move the entries of [Unreleased] under "
        f"`## [{version}] - YYYY-MM-DD` before tagging"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tag", help="the release tag, e.g. v1.2.0")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG)
    args = parser.parse_args(argv)
    try:
        notes = section(args.changelog.read_text(encoding="utf-8"), version_of(args.tag))
    except NoNotes as exc:
        print(f"release_notes: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
