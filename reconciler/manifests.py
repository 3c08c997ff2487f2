"""Load manifest files into ``Resource`` objects, keeping ``file:line:col`` for every key and item.

YAML is read with ruamel.yaml's parser as a stream of events; this module composes the events
into plain Python data itself (dicts, lists, str, int, float, bool, None) and records a
``Location`` for every mapping key and list item under its JSON pointer. Doing the composition
here, instead of through ruamel's round-trip constructor, gives:

- positions for everything, with the same semantics whichever parser produced the events
  (ruamel's C extension when installed, else its pure-Python parser; both are ruamel.yaml);
- YAML 1.2 core-schema scalars (``on``/``yes`` are strings, no dates), JSON-compatible data;
- errors as ``Diagnostic`` objects, never tracebacks: syntax errors, duplicate keys, unknown
  tags, undefined aliases, and oversized documents (alias bombs) all end up as diagnostics;
- speed: thousands of manifests per second with the C parser.

``{fromEnv: NAME}`` (a mapping with exactly that key and a string value) becomes ``SecretRef``.
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

MAX_FILE_BYTES = 32 * 1024 * 1024  # one manifest file
MAX_DOCUMENT_VALUES = 200_000  # values in one document after alias expansion (alias bombs)
MAX_DEPTH = 64  # nesting depth of one document

YAML_SUFFIXES = (".yaml", ".yml")
SINGLETON_KINDS = ("OrgDeviceSettings", "BackgroundImages")
ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec")

# Plain scalars at these pointers stay strings even when they look like numbers
# (a MAC such as 001122334455 must keep its leading zeros).
_STRING_POINTERS = frozenset({"/metadata/mac", "/spec/uploadDevice"})

_TAG = "tag:yaml.org,2002:"


# --------------------------------------------------------------------------------------------
# Parser backends: all of them produce ruamel.yaml (or API-compatible) events.


def _pure_events(text: str) -> Iterator[Any]:
    from ruamel.yaml import YAML

    return iter(YAML(typ="safe", pure=True).parse(text))


def _c_events(parser_cls: Any) -> Any:
    def events(text: str) -> Iterator[Any]:
        parser = parser_cls(text)
        try:
            while True:
                event = parser.get_event()
                yield event
                if type(event).__name__ == "StreamEndEvent":
                    return
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose is not None:
                dispose()

    return events


def _find_backends() -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:  # ruamel.yaml's own C extension (the ``ruamel.yaml[libyaml]`` extra)
        cyaml = importlib.import_module("ruamel.yaml.cyaml")
        found["ruamel-c"] = _c_events(cyaml.CParser)
    except Exception:
        pass
    try:  # libyaml through PyYAML, when present: same events, same positions
        pyyaml = importlib.import_module("yaml")
        if getattr(pyyaml, "__with_libyaml__", False):
            found["pyyaml-c"] = _c_events(importlib.import_module("yaml.cyaml").CParser)
    except Exception:
        pass
    found["ruamel-pure"] = _pure_events
    return found


_BACKENDS = _find_backends()


def available_backends() -> list[str]:
    """Parser backends usable here, fastest first (``RECONCILER_YAML_BACKEND`` picks one)."""
    return list(_BACKENDS)


def _backend(name: str | None) -> Any:
    name = name or os.environ.get("RECONCILER_YAML_BACKEND") or ""
    if name and name in _BACKENDS:
        return _BACKENDS[name]
    return next(iter(_BACKENDS.values()))


# --------------------------------------------------------------------------------------------
# Composition: events -> nodes


class _Node:
    __slots__ = ("anchor", "col", "kind", "line", "plain", "tag", "value")

    def __init__(self, kind: str, tag: str | None, value: Any, line: int, col: int, plain: bool) -> None:
        self.kind = kind  # "scalar" | "seq" | "map"
        self.tag = tag
        self.value = value  # str | list[_Node] | list[tuple[_Node, _Node]]
        self.line = line  # 1-based
        self.col = col
        self.plain = plain
        self.anchor: str | None = None


class _DocError(Exception):
    """Stops the current document; the diagnostic is already recorded."""


class _YamlError(Exception):
    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def _mark(event: Any) -> tuple[int, int]:
    mark = getattr(event, "start_mark", None)
    return (int(getattr(mark, "line", 0)) + 1, int(getattr(mark, "column", 0)) + 1)


def _compose(events: Iterator[Any]) -> Iterator[_Node | None]:
    """Yield the root node of every document (None for an empty one)."""
    anchors: dict[str, _Node] = {}
    stack: list[tuple[_Node, list[_Node]]] = []  # open collections, with pending map key
    root: _Node | None = None
    have_root = False

    def attach(node: _Node) -> None:
        nonlocal root, have_root
        if not stack:
            root, have_root = node, True
            return
        parent, pending = stack[-1]
        if parent.kind == "seq":
            parent.value.append(node)
        elif pending:
            parent.value.append((pending.pop(), node))
        else:
            pending.append(node)

    for event in events:
        name = type(event).__name__
        if name == "ScalarEvent":
            line, col = _mark(event)
            tag = event.tag
            style = getattr(event, "style", None)
            plain = tag is None and not style
            node = _Node("scalar", tag, event.value, line, col, plain)
            attach(node)
            if event.anchor is not None:
                anchors[event.anchor] = node
        elif name in ("SequenceStartEvent", "MappingStartEvent"):
            line, col = _mark(event)
            kind = "seq" if name == "SequenceStartEvent" else "map"
            node = _Node(kind, event.tag, [], line, col, False)
            node.anchor = event.anchor
            attach(node)
            stack.append((node, []))
            if len(stack) > MAX_DEPTH:
                raise _YamlError(f"nesting deeper than {MAX_DEPTH} levels", line, col)
        elif name in ("SequenceEndEvent", "MappingEndEvent"):
            node, _pending = stack.pop()
            if node.anchor is not None:
                anchors[node.anchor] = node  # registered when complete: no recursive structures
        elif name == "AliasEvent":
            line, col = _mark(event)
            target = anchors.get(event.anchor)
            if target is None:
                raise _YamlError(
                    f"alias *{event.anchor} refers to an anchor that is not defined before it", line, col
                )
            attach(target)
        elif name == "DocumentStartEvent":
            anchors = {}
            root, have_root = None, False
        elif name == "DocumentEndEvent":
            yield root if have_root else None
            root, have_root = None, False


# --------------------------------------------------------------------------------------------
# Construction: nodes -> plain data + positions

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_OCT_RE = re.compile(r"^0o[0-7]+$")
_HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF_RE = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN_RE = re.compile(r"^\.(nan|NaN|NAN)$")


def _resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema resolution of a plain scalar."""
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    first = text[0]
    if first.isdigit() or first in "-+.":
        if _INT_RE.match(text):
            return int(text)
        if _OCT_RE.match(text):
            return int(text[2:], 8)
        if _HEX_RE.match(text):
            return int(text[2:], 16)
        if _FLOAT_RE.match(text):
            return float(text)
        if _INF_RE.match(text):
            return -math.inf if text[0] == "-" else math.inf
        if _NAN_RE.match(text):
            return math.nan
    return text


def escape_pointer(token: str) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


class _Builder:
    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        self.file = file
        self.diagnostics = diagnostics
        self.positions: dict[str, Location] = {}
        self.count = 0

    def loc(self, node: _Node) -> Location:
        return Location(self.file, node.line, node.col)

    def error(self, node: _Node, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.loc(node), message))

    def build(self, node: _Node, ptr: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_DOCUMENT_VALUES:
            self.diagnostics.append(
                Diagnostic(
                    self.positions.get("", self.loc(node)),
                    f"document too large: more than {MAX_DOCUMENT_VALUES} values after alias expansion "
                    "(an alias bomb?); document skipped",
                )
            )
            raise _DocError
        if depth > MAX_DEPTH:
            self.error(node, f"nesting deeper than {MAX_DEPTH} levels; document skipped")
            raise _DocError
        if node.kind == "scalar":
            return self.scalar(node, ptr)
        tag = node.tag
        if node.kind == "seq":
            if tag not in (None, "!", _TAG + "seq"):
                self.error(node, f"unsupported YAML tag {tag!r} on a list")
            out: list[Any] = []
            for i, item in enumerate(node.value):
                p = f"{ptr}/{i}"
                self.positions[p] = self.loc(item)
                out.append(self.build(item, p, depth + 1))
            return out
        if tag not in (None, "!", _TAG + "map"):
            self.error(node, f"unsupported YAML tag {tag!r} on a mapping")
        return self.mapping(node, ptr, depth)

    def scalar(self, node: _Node, ptr: str) -> Any:
        text: str = node.value
        if node.plain:
            if ptr in _STRING_POINTERS:
                return text
            return _resolve_plain(text)
        tag = node.tag
        if tag is None or tag == "!" or tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        try:
            if tag == _TAG + "bool" and text in _TRUES | _FALSES:
                return text in _TRUES
            if tag == _TAG + "int":
                value = _resolve_plain(text)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
            if tag == _TAG + "float":
                value = _resolve_plain(text)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return float(value)
        except ValueError:
            pass
        if tag in (_TAG + "bool", _TAG + "int", _TAG + "float"):
            self.error(node, f"{text!r} is not a valid {tag.removeprefix(_TAG)}")
        else:
            self.error(node, f"unsupported YAML tag {tag!r}")
        return text

    def key(self, node: _Node) -> str | None:
        if node.kind != "scalar":
            self.error(node, "a mapping key must be a plain string, not a list or mapping")
            return None
        return str(node.value)

    def mapping(self, node: _Node, ptr: str, depth: int) -> Any:
        out: dict[str, Any] = {}
        first_at: dict[str, _Node] = {}
        merges: list[_Node] = []
        for knode, vnode in node.value:
            if (
                knode.kind == "scalar" and knode.plain and knode.value == "<<"
            ) or knode.tag == _TAG + "merge":
                merges.append(vnode)
                continue
            key = self.key(knode)
            if key is None:
                continue
            if key in first_at:
                self.error(
                    knode,
                    f"duplicate key {key!r} (first defined at line {first_at[key].line}); value ignored",
                )
                continue
            first_at[key] = knode
            p = f"{ptr}/{escape_pointer(key)}"
            self.positions[p] = self.loc(knode)
            out[key] = self.build(vnode, p, depth + 1)
        for merge in merges:
            sources = merge.value if merge.kind == "seq" else [merge]
            for source in sources:
                if source.kind != "map":
                    self.error(source, "a merge key (<<) needs a mapping or a list of mappings")
                    continue
                for knode, vnode in source.value:
                    key = self.key(knode)
                    if key is None or key in out:
                        continue
                    p = f"{ptr}/{escape_pointer(key)}"
                    self.positions[p] = self.loc(knode)
                    out[key] = self.build(vnode, p, depth + 1)
        if len(out) == 1 and isinstance(out.get("fromEnv"), str):
            return SecretRef(out["fromEnv"])
        return out


# --------------------------------------------------------------------------------------------
# Documents and resources


@dataclass
class Document:
    """One parsed YAML document: plain data, positions by JSON pointer, where it starts."""

    data: Any
    positions: dict[str, Location] = field(default_factory=dict)
    source: Location = field(default_factory=lambda: Location("<unknown>", 1, 1))


def _error_location(exc: BaseException, file: str, text: str) -> tuple[Location, str]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if mark is not None:
        loc = Location(file, int(getattr(mark, "line", 0)) + 1, int(getattr(mark, "column", 0)) + 1)
    elif isinstance(getattr(exc, "position", None), int):
        pos: int = getattr(exc, "position")  # noqa: B009
        line = text.count("\n", 0, pos) + 1
        loc = Location(file, line, pos - (text.rfind("\n", 0, pos) + 1) + 1)
    else:
        loc = Location(file, 1, 1)
    if problem:
        message = f"{context}: {problem}" if context else str(problem)
    else:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return loc, f"invalid YAML: {message}"


def parse_documents(
    text: str, file: str, *, backend: str | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Every non-empty document in ``text``; YAML problems as diagnostics (never raises)."""
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    events = _backend(backend)(text)
    try:
        for root in _compose(events):
            if root is None or (root.kind == "scalar" and root.plain and root.value in _NULLS):
                continue
            builder = _Builder(file, diags)
            start = builder.loc(root)
            builder.positions[""] = start
            try:
                data = builder.build(root, "", 0)
            except _DocError:
                continue
            except RecursionError:
                diags.append(Diagnostic(start, "document nested too deeply; skipped"))
                continue
            docs.append(Document(data, builder.positions, start))
    except _YamlError as exc:
        diags.append(Diagnostic(Location(file, exc.line, exc.col), f"invalid YAML: {exc.message}"))
    except RecursionError:
        diags.append(Diagnostic(Location(file, 1, 1), "invalid YAML: nested too deeply"))
    except Exception as exc:  # every parser error becomes a diagnostic, never a traceback
        loc, message = _error_location(exc, file, text)
        diags.append(Diagnostic(loc, message))
    return docs, diags


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


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _to_resource(doc: Document) -> tuple[Resource | None, list[Diagnostic]]:
    """Check the envelope (apiVersion, kind, metadata, spec) and build the Resource."""
    data, pos, src = doc.data, doc.positions, doc.source
    problems: list[tuple[Location, str]] = []  # about a resource whose label is known later

    def at(ptr: str) -> Location:
        return pos.get(ptr, src)

    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"the value {data!r}"
        msg = f"a manifest must be a mapping with apiVersion, kind, metadata and spec, not {what}"
        return None, [Diagnostic(src, msg)]

    for key in data:
        if key not in ENVELOPE_KEYS:
            problems.append(
                (
                    at("/" + escape_pointer(key)),
                    f"unknown field {key!r}{_suggest(key, ENVELOPE_KEYS)}; a manifest has only "
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
            hint = _suggest(kind, KINDS) if isinstance(kind, str) else ""
            problems.append(
                (at("/kind"), f"unknown kind {kind!r}{hint}; expected one of: " + ", ".join(KINDS))
            )
        return None, [Diagnostic(loc, msg) for loc, msg in problems]

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
    return resource, [Diagnostic(loc, msg, label) for loc, msg in problems]


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


# --------------------------------------------------------------------------------------------
# Files


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def discover(paths: Sequence[str | Path]) -> tuple[list[str], list[Diagnostic]]:
    """Manifest files named by ``paths``: files as given, directories walked recursively for
    ``*.yaml`` / ``*.yml`` (sorted; hidden files and directories skipped). Each file once."""
    files: list[str] = []
    diags: list[Diagnostic] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(path)

    for given in paths:
        p = os.fspath(given)
        if os.path.isfile(p):
            add(os.path.normpath(p))
        elif os.path.isdir(p):
            found: list[str] = []
            visited: set[str] = set()
            for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
                real = os.path.realpath(dirpath)
                if real in visited:  # a symlink loop
                    dirnames[:] = []
                    continue
                visited.add(real)
                dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
                for name in sorted(filenames):
                    if not _is_hidden(name) and name.lower().endswith(YAML_SUFFIXES):
                        found.append(os.path.normpath(os.path.join(dirpath, name)))
            if not found:
                diags.append(Diagnostic(None, f"{p}: no *.yaml or *.yml files found"))
            for f in found:
                add(f)
        else:
            diags.append(Diagnostic(None, f"{p}: no such file or directory"))
    return files, diags


def _read(file: str) -> tuple[str | None, Diagnostic | None]:
    try:
        size = os.path.getsize(file)
        if size > MAX_FILE_BYTES:
            return None, Diagnostic(
                Location(file, 1, 1), f"file too large ({size} bytes; at most {MAX_FILE_BYTES})"
            )
        raw = Path(file).read_bytes()
    except OSError as exc:
        return None, Diagnostic(Location(file, 1, 1), f"cannot read file: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(Location(file, line, col), "not UTF-8 text")


def load_files(
    files: Sequence[str], *, backend: str | None = None
) -> tuple[list[Resource], list[Diagnostic]]:
    """Load the given files (no directory walking)."""
    resources: list[Resource] = []
    diags: list[Diagnostic] = []
    for file in files:
        text, problem = _read(file)
        if problem is not None:
            diags.append(problem)
            continue
        assert text is not None
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


# --------------------------------------------------------------------------------------------
# Helpers for other modules


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
