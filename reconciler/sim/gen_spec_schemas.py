"""Generate ``data/spec_schemas.json`` from the official Webex OpenAPI spec.

The simulator validates request bodies against the spec's request schemas. The spec is vendored
under ``third_party/webex-openapi/`` (not part of the installed package), so this script extracts
what the simulator needs into a compact JSON file that ships with the package: for every Device Call
Settings operation with a JSON request body, its schema and the component schemas it references,
reduced to structure (types, enums, required lists, length and item bounds). Descriptions and
examples are dropped.

Run from the repository root::

    python -m reconciler.sim.gen_spec_schemas [path/to/webex-device.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

KEEP_KEYS = frozenset(
    {
        "type",
        "enum",
        "required",
        "properties",
        "items",
        "$ref",
        "format",
        "minLength",
        "maxLength",
        "minItems",
    }
)
METHODS = ("get", "put", "post", "delete", "patch")
OUT = Path(__file__).resolve().parent / "data" / "spec_schemas.json"


def default_spec_path() -> Path:
    return Path(__file__).resolve().parents[2] / "third_party" / "webex-openapi" / "webex-device.json"


def in_scope(path: str) -> bool:
    return path.startswith("/telephony/config/") and "dynamic" not in path.lower()


def reduce_schema(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key not in KEEP_KEYS:
                continue
            if key == "properties":
                out[key] = {name: reduce_schema(sub) for name, sub in value.items()}
            else:
                out[key] = reduce_schema(value)
        return out
    if isinstance(node, list):
        return [reduce_schema(v) for v in node]
    return node


def collect_refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                collect_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            collect_refs(value, found)


def generate(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec["components"]["schemas"]
    operations: dict[str, Any] = {}
    wanted: set[str] = set()
    for path, item in spec["paths"].items():
        if not in_scope(path):
            continue
        for method in METHODS:
            op = item.get(method)
            if not op or "requestBody" not in op:
                continue
            content = op["requestBody"].get("content", {})
            media = content.get("application/json")
            if media is None:
                continue
            schema = reduce_schema(media["schema"])
            operations[f"{method.upper()} /v1{path}"] = schema
            collect_refs(schema, wanted)
    done: dict[str, Any] = {}
    todo = sorted(wanted)
    while todo:
        name = todo.pop()
        if name in done:
            continue
        reduced = reduce_schema(components[name])
        done[name] = reduced
        more: set[str] = set()
        collect_refs(reduced, more)
        todo.extend(sorted(more - done.keys()))
    return {
        "source": "webex-device.json (Webex OpenAPI Specifications, Cisco, CC BY 4.0), reduced",
        "operations": dict(sorted(operations.items())),
        "components": {"schemas": dict(sorted(done.items()))},
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec_path = Path(args[0]) if args else default_spec_path()
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    data = generate(spec)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(data['operations'])} operations, {len(data['components']['schemas'])} schemas)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
