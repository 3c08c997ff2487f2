"""Generate ``data/spec_routes.json``: the methods and typed query parameters of every path in the
official Webex OpenAPI specs (device and people).

The simulator answers a method a path does not declare with 405 and an ``Allow`` header listing the
declared ones, and refuses a query parameter that is not of the type the spec gives it (a boolean
that is not ``true``/``false``, a number that is not a finite number, a value outside an enum).
The specs are vendored under ``third_party/webex-openapi/`` (not part of the installed package), so
this script extracts that table into a compact JSON file that ships with the package.

Run from the repository root::

    python -m reconciler.sim.gen_spec_routes
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch")
SPEC_FILES = ("webex-device.json", "webex-admin-people.json")
OUT = Path(__file__).resolve().parent / "data" / "spec_routes.json"


def default_spec_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "third_party" / "webex-openapi"


def _query_param(param: dict[str, Any]) -> dict[str, Any]:
    schema = param.get("schema") or {}
    out: dict[str, Any] = {"type": schema.get("type", "string")}
    if "enum" in schema:
        out["enum"] = list(schema["enum"])
    return out


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    """The operation's typed query parameters (plain strings take any value and are left out)."""
    query = {}
    for param in op.get("parameters", []):
        if isinstance(param, dict) and param.get("in") == "query":
            typed = _query_param(param)
            if typed != {"type": "string"}:
                query[param["name"]] = typed
    return {"query": dict(sorted(query.items()))}


def generate(specs: list[dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        for path, item in spec["paths"].items():
            ops = {m.upper(): _operation(item[m]) for m in METHODS if isinstance(item.get(m), dict)}
            if ops:
                paths.setdefault(f"/v1{path}", {}).update(ops)
    return {
        "source": ", ".join(SPEC_FILES) + " (Webex OpenAPI Specifications, Cisco, CC BY 4.0), reduced",
        "paths": dict(sorted(paths.items())),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec_dir = Path(args[0]) if args else default_spec_dir()
    specs = [json.loads((spec_dir / name).read_text(encoding="utf-8")) for name in SPEC_FILES]
    data = generate(specs)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(data['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
