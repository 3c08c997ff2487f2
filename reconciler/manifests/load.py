"""Load manifest files into ``Resource`` objects, keeping ``file:line:col`` for every key and item.

Each file's text is composed into documents (``reconciler.manifests.compose``: PyYAML's composer,
our YAML 1.2 scalars and positions from ``reconciler.manifests.nodes``); this module checks each
document's envelope (apiVersion, kind, metadata, spec) and builds the ``Resource``. It is the
stage's public face: the names of ``__all__`` are what the other stages use.

Finding and reading files is ``reconciler.manifests.discovery``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.manifests.compose import available_backends, parse_documents
from reconciler.manifests.discovery import MAX_FILE_BYTES, discover, read_manifests
from reconciler.manifests.nodes import MAX_DEPTH, MAX_DOCUMENT_VALUES, Document, escape_pointer
from reconciler.model import (
    API_VERSION,
    KINDS,
    SINGLETON_NAME,
    Diagnostic,
    Location,
    Resource,
    SecretRef,
    normalize_mac,
)
from reconciler.textsafe import did_you_mean

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_VALUES",
    "MAX_FILE_BYTES",
    "Document",
    "available_backends",
    "discover",
    "escape_pointer",
    "identity",
    "label_of",
    "load_files",
    "load_paths",
    "load_text",
    "manifest_dir",
    "parse_documents",
    "resolve_manifest_path",
    "to_raw",
]

SINGLETON_KINDS = ("OrgDeviceSettings", "BackgroundImages")
ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec")


def _name_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None or isinstance(value, dict | list | SecretRef):
        return ""
    return str(value)


def identity(kind: str, metadata: dict[str, Any]) -> str:
    """The identity of a manifest (``Resource.name``) from its kind and metadata."""
    if kind in SINGLETON_KINDS:
        return SINGLETON_NAME
    if kind == "Device":
        mac = _name_text(metadata.get("mac"))
        return normalize_mac(mac) or mac
    if kind == "LocationDeviceSettings":
        return _name_text(metadata.get("location"))
    if kind == "PersonDevices":
        return _name_text(metadata.get("person")).lower()
    if kind == "WorkspaceDevices":
        return _name_text(metadata.get("workspace"))
    return _name_text(metadata.get("name"))


def _to_resource(doc: Document) -> tuple[Resource | None, list[Diagnostic]]:
    """Check the envelope (apiVersion, kind, metadata, spec) and build the Resource."""
    data, pos, src = doc.data, doc.positions, doc.source
    problems: list[tuple[Location, str]] = []  # about a resource whose label is known later

    def at(ptr: str) -> Location:
        return pos.get(ptr, src)

    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"the value {data!r}"
        msg = f"a manifest must be a mapping with apiVersion, kind, metadata and spec, not {what}"
        return None, [Diagnostic(src, msg, code="manifest")]

    for key in data:
        if key not in ENVELOPE_KEYS:
            problems.append(
                (
                    at("/" + escape_pointer(key)),
                    f"unknown field {key!r}{did_you_mean(key, ENVELOPE_KEYS)}; a manifest has only "
                    "apiVersion, kind, metadata and spec",
                )
            )
    api = data.get("apiVersion")
    if "apiVersion" not in data:
        problems.append((src, f"missing required field 'apiVersion' (expected {API_VERSION!r})"))
    elif api != API_VERSION:
        problems.append((at("/apiVersion"), f"unsupported apiVersion {api!r}: expected {API_VERSION!r}"))

    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        if "kind" not in data:
            problems.append((src, "missing required field 'kind' (one of: " + ", ".join(KINDS) + ")"))
        else:
            hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
            problems.append(
                (at("/kind"), f"unknown kind {kind!r}{hint}; expected one of: " + ", ".join(KINDS))
            )
        return None, [Diagnostic(loc, msg, code="manifest") for loc, msg in problems]

    parts: dict[str, dict[str, Any]] = {}
    for key in ("metadata", "spec"):
        value = data.get(key)
        if key not in data:
            problems.append((src, f"missing required field {key!r}"))
            value = {}
        elif not isinstance(value, dict):
            problems.append((at("/" + key), f"{key} must be a mapping, not {_type_name(value)}"))
            value = {}
        parts[key] = value

    name = identity(kind, parts["metadata"])
    resource = Resource(
        kind=kind, name=name, metadata=parts["metadata"], spec=parts["spec"], source=src, positions=pos
    )
    label = label_of(resource)
    return resource, [Diagnostic(loc, msg, label, code="manifest") for loc, msg in problems]


def label_of(resource: Resource) -> str:
    """``Kind/name`` for messages (just ``Kind`` while the name is unknown)."""
    return resource.address if resource.name else resource.kind


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def load_text(
    text: str, file: str = "<string>", *, backend: str | None = None
) -> tuple[list[Resource], list[Diagnostic]]:
    """Resources from YAML text (several documents allowed); problems as diagnostics."""
    docs, diags = parse_documents(text, file, backend=backend)
    resources: list[Resource] = []
    for doc in docs:
        res, more = _to_resource(doc)
        diags.extend(more)
        if res is not None:
            resources.append(res)
    return resources, diags


def load_files(
    files: Sequence[str], *, backend: str | None = None
) -> tuple[list[Resource], list[Diagnostic]]:
    """Load the given files (no directory walking)."""
    resources: list[Resource] = []
    diags: list[Diagnostic] = []
    for file, text in read_manifests(files, diags):
        res, more = load_text(text, file, backend=backend)
        resources.extend(res)
        diags.extend(more)
    return resources, diags


def load_paths(
    paths: Sequence[str | Path], *, backend: str | None = None
) -> tuple[list[Resource], list[Diagnostic]]:
    """Load every manifest under ``paths`` (files and directories). Never raises for bad input:
    every problem is a ``Diagnostic``."""
    files, diags = discover(paths)
    resources, more = load_files(files, backend=backend)
    return resources, diags + more


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def has_secret(value: Any) -> bool:
    """Whether a ``SecretRef`` is anywhere in ``value`` (asked of every manifest while loading:
    scalars are passed over without a call, containers without a generator)."""
    if isinstance(value, SecretRef):
        return True
    if isinstance(value, dict):
        inside: Any = value.values()
    elif isinstance(value, list):
        inside = value
    else:
        return False
    for item in inside:  # noqa: SIM110  (a loop: no generator a container)
        if type(item) not in _PLAIN_SCALARS and has_secret(item):
            return True
    return False


def to_raw(value: Any) -> Any:
    """Plain data with ``SecretRef`` turned back into ``{"fromEnv": NAME}`` (the written form)."""
    if isinstance(value, SecretRef):
        return {"fromEnv": value.env}
    if isinstance(value, dict):
        return {k: to_raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_raw(v) for v in value]
    return value


def manifest_dir(resource: Resource) -> Path:
    """The directory of the manifest file a resource was written in."""
    return Path(resource.source.file).parent


def resolve_manifest_path(resource: Resource, path: str) -> Path:
    """A path written in a manifest (e.g. BackgroundImages ``images[].path``), relative to the
    manifest file's directory unless absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else manifest_dir(resource) / p
