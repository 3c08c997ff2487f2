"""``python -m tests.golden [--update]``: compare (or rewrite) the golden files."""

from __future__ import annotations

import argparse
import difflib
import sys

from tests.golden.scenario import HERE, check_json, outputs


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    update = parser.parse_args().update
    found = outputs()
    check_json(found)
    differ = 0
    for name, text in found.items():
        path = HERE / name
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old == text:
            continue
        differ += 1
        if update:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.name}")
        else:
            sys.stdout.writelines(
                difflib.unified_diff(old.splitlines(True), text.splitlines(True), name, name)
            )
    if not differ:
        print("every golden file matches")
    return 0 if update or not differ else 1


if __name__ == "__main__":
    sys.exit(main())
