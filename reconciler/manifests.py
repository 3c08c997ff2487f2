"""Load manifest files into ``Resource`` objects, keeping ``file:line:col`` for every key and item.

YAML is read as a stream of parser events (ruamel.yaml's parser); this module builds plain Python
data from the events itself, in one pass (dicts, lists, str, int, float, bool, None), and records
a ``Location`` for every mapping key and list item under its JSON pointer
(``/spec/members/0/port``). Doing this here, instead of through ruamel's round-trip constructor,
gives:

- the same data and positions whichever parser produced the events: ruamel.yaml's C extension
  (``ruamel.yaml[libyaml]``) or libyaml through PyYAML when installed (fast), else ruamel.yaml's
  pure-Python parser (about 20x slower); ``RECONCILER_YAML_BACKEND`` forces one;
- YAML 1.2 core-schema scalars (``on``/``yes`` are strings, no dates): JSON-compatible data;
- problems as ``Diagnostic`` objects, never tracebacks: syntax errors, duplicate keys, unknown
  tags, undefined or recursive aliases, runaway nesting and oversized documents (alias bombs);
- no recursion anywhere, so no input can exhaust the stack.

Finding and reading files is ``reconciler.discovery``.

``{fromEnv: NAME}`` (a mapping with exactly that key and a string value) becomes ``SecretRef``.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.discovery import MAX_FILE_BYTES, discover, read_manifest
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

MAX_DOCUMENT_VALUES = 200_000  # values in one document after alias expansion (alias bombs)
MAX_DEPTH = 64  # nesting depth of one document
NESTING_MESSAGE = f"nesting deeper than {MAX_DEPTH} levels; rest of the file skipped"

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
# Events -> plain data + positions, in one pass


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
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


class _Abort(Exception):
    """Stops the current document; the diagnostic is already recorded."""


# event kinds
_SCALAR, _SEQ, _MAP, _END, _ALIAS, _DOC_START, _DOC_END, _OTHER = range(8)
_EVENT_KINDS = {
    "ScalarEvent": _SCALAR,
    "SequenceStartEvent": _SEQ,
    "MappingStartEvent": _MAP,
    "SequenceEndEvent": _END,
    "MappingEndEvent": _END,
    "AliasEvent": _ALIAS,
    "DocumentStartEvent": _DOC_START,
    "DocumentEndEvent": _DOC_END,
}
_NO_KEY = object()  # a map frame waiting for a key
_SKIP = object()  # the value of a key that is dropped (duplicate or not a string)
_MERGE = object()  # the value of a merge key (<<)

Positions = list[tuple[str, Location]]


class _Frame:
    """An open list or mapping."""

    __slots__ = ("anchor", "container", "count", "is_map", "key", "loc", "mark", "merges", "ptr", "seen")

    def __init__(
        self, is_map: bool, ptr: str, loc: Location, anchor: str | None, mark: int, count: int
    ) -> None:
        self.is_map = is_map
        self.container: Any = {} if is_map else []
        self.ptr = ptr
        self.loc = loc
        self.anchor = anchor
        self.mark = mark  # len(positions) when the frame opened (after its own position)
        self.count = count  # values counted before this frame
        self.key: Any = _NO_KEY  # map: the pending key (str), _NO_KEY, _SKIP or _MERGE
        self.seen: dict[str, int] = {}  # map: key -> line of first definition
        self.merges: list[tuple[Any, Positions]] = []


class _Anchor:
    __slots__ = ("count", "positions", "value")

    def __init__(self, value: Any, positions: Positions, count: int) -> None:
        self.value = value
        self.positions = positions  # relative to the anchored node
        self.count = count


class _DocBuilder:
    """Builds the documents of one file from parser events."""

    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        self.file = file
        self.diagnostics = diagnostics
        self.kinds: dict[type, int] = {}
        self.reset()

    def reset(self) -> None:
        self.stack: list[_Frame] = []
        self.positions: Positions = []
        self.anchors: dict[str, _Anchor] = {}
        self.count = 0
        self.root: Any = None
        self.root_loc: Location | None = None
        self.failed = False
        self.roles: list[Any] = []  # parallel to stack: where each open frame goes in its parent

    def error(self, loc: Location, message: str) -> None:
        self.diagnostics.append(Diagnostic(loc, message))

    def fail(self, loc: Location, message: str) -> None:
        self.error(loc, message)
        raise _Abort

    def counted(self, n: int, loc: Location) -> None:
        self.count += n
        if self.count > MAX_DOCUMENT_VALUES:
            self.fail(
                self.root_loc or loc,
                f"document too large: more than {MAX_DOCUMENT_VALUES} values after alias expansion "
                "(an alias bomb?); document skipped",
            )

    # -- placing a node ----------------------------------------------------------------------

    def place(self, loc: Location) -> tuple[str, Any]:
        """Where the node starting at ``loc`` goes: (its pointer, the map key state).

        Records the position of a list item (map values are recorded with their key)."""
        if not self.stack:
            self.root_loc = loc
            self.positions.append(("", loc))
            return "", None
        top = self.stack[-1]
        if not top.is_map:
            ptr = f"{top.ptr}/{len(top.container)}"
            self.positions.append((ptr, loc))
            return ptr, None
        if top.key is _NO_KEY:
            return "", _NO_KEY  # this node is a key
        if top.key is _SKIP or top.key is _MERGE:
            return f"{top.ptr}/<<", top.key
        return f"{top.ptr}/{escape_pointer(top.key)}", top.key

    def finish(
        self, value: Any, ptr: str, role: Any, loc: Location, mark: int, anchor: str | None, counted_from: int
    ) -> None:
        """A node is complete: register its anchor, and put it into its parent."""
        if anchor is not None:
            rel = [(p[len(ptr) :], at) for p, at in self.positions[mark:]]
            self.anchors[anchor] = _Anchor(value, rel, self.count - counted_from)
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if not top.is_map:
            top.container.append(value)
        elif role is _NO_KEY:
            self.take_key(top, value, loc)
        elif role is _SKIP:
            del self.positions[mark:]
            top.key = _NO_KEY
        elif role is _MERGE:
            rel = [(p[len(ptr) :], at) for p, at in self.positions[mark:]]
            del self.positions[mark:]
            top.merges.append((value, rel))
            top.key = _NO_KEY
        else:
            top.container[role] = value
            top.key = _NO_KEY

    def take_key(self, top: _Frame, value: Any, loc: Location) -> None:
        if value is _MERGE:
            top.key = _MERGE
            return
        if isinstance(value, dict | list | SecretRef):
            self.error(loc, "a mapping key must be a plain string, not a list or mapping")
            top.key = _SKIP
            return
        key = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        if key in top.seen:
            self.error(loc, f"duplicate key {key!r} (first defined at line {top.seen[key]}); value ignored")
            top.key = _SKIP
            return
        top.seen[key] = loc.line
        top.key = key
        self.positions.append((f"{top.ptr}/{escape_pointer(key)}", loc))

    # -- scalars -----------------------------------------------------------------------------

    def scalar(self, event: Any, ptr: str, loc: Location) -> Any:
        text: str = event.value
        tag = event.tag
        if tag is None and not event.style:  # plain
            if ptr in _STRING_POINTERS:
                return text
            return _resolve_plain(text)
        if tag is None or tag == "!" or tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool" and text in _TRUES | _FALSES:
            return text in _TRUES
        if tag in (_TAG + "int", _TAG + "float"):
            value = _resolve_plain(text)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value if tag == _TAG + "int" and isinstance(value, int) else float(value)
            self.error(loc, f"{text!r} is not a valid {tag.removeprefix(_TAG)}")
            return text
        if tag == _TAG + "bool":
            self.error(loc, f"{text!r} is not a valid bool")
        else:
            self.error(loc, f"unsupported YAML tag {tag!r}")
        return text

    # -- the event loop ----------------------------------------------------------------------

    def documents(self, events: Iterator[Any]) -> Iterator[Document]:
        kinds = self.kinds
        file = self.file
        for event in events:
            kind = kinds.get(type(event))
            if kind is None:
                kind = kinds[type(event)] = _EVENT_KINDS.get(type(event).__name__, _OTHER)
            if kind == _DOC_START:
                self.reset()
                continue
            if kind == _DOC_END:
                if not self.failed and self.root is not None and self.root_loc is not None:
                    yield Document(self.root, dict(self.positions), self.root_loc)
                self.reset()
                continue
            if self.failed or kind == _OTHER:
                continue
            try:
                self.event(event, kind, file)
            except _Abort as exc:
                if exc.args and exc.args[0] == "stop":
                    return  # runaway nesting: the rest of the file is not parsed
                self.failed = True

    def event(self, event: Any, kind: int, file: str) -> None:
        if kind == _END:
            frame = self.stack.pop()
            value = frame.container
            if frame.is_map:
                value = self.close_map(frame)
            role = self.roles.pop()
            self.finish(value, frame.ptr, role, frame.loc, frame.mark, frame.anchor, frame.count - 1)
            return
        mark_ = event.start_mark
        loc = Location(file, mark_.line + 1, mark_.column + 1)
        ptr, role = self.place(loc)
        mark = len(self.positions)
        if kind == _SCALAR:
            self.counted(1, loc)
            value = self.scalar(event, ptr, loc) if role is not _NO_KEY else self.key_text(event)
            self.finish(value, ptr, role, loc, mark, event.anchor, self.count - 1)
        elif kind == _ALIAS:
            anchor = self.anchors.get(event.anchor)
            if anchor is None:
                self.fail(loc, f"alias *{event.anchor} refers to an anchor that is not defined before it")
            assert anchor is not None
            self.counted(anchor.count, loc)
            for rel, at in anchor.positions:
                self.positions.append((ptr + rel, at))
            value = anchor.value
            if isinstance(value, dict | list):
                value = copy.deepcopy(value)
            self.finish(value, ptr, role, loc, mark, None, self.count - anchor.count)
        else:  # a list or a mapping starts
            if len(self.stack) >= MAX_DEPTH:
                self.error(loc, NESTING_MESSAGE)
                raise _Abort("stop")
            tag = event.tag
            is_map = kind == _MAP
            if tag not in (None, "!", _TAG + ("map" if is_map else "seq")):
                self.error(loc, f"unsupported YAML tag {tag!r} on a {'mapping' if is_map else 'list'}")
            self.counted(1, loc)
            self.stack.append(_Frame(is_map, ptr, loc, event.anchor, mark, self.count))
            self.roles.append(role)

    def key_text(self, event: Any) -> Any:
        """A scalar in key position: its text (``<<`` marks a merge)."""
        tag = event.tag
        if tag is None and not event.style and event.value == "<<":
            return _MERGE
        if tag == _TAG + "merge":
            return _MERGE
        return event.value

    def close_map(self, frame: _Frame) -> Any:
        out: dict[str, Any] = frame.container
        for source, rel in frame.merges:
            items = [(source, "")] if isinstance(source, dict) else list(_merge_items(source))
            if not items:
                self.error(frame.loc, "a merge key (<<) needs a mapping or a list of mappings")
            for mapping, prefix in items:
                for key, value in mapping.items():
                    if key in out:
                        continue
                    out[key] = value
                    sub = f"{prefix}/{escape_pointer(key)}"
                    for p, at in rel:
                        if p == sub or p.startswith(sub + "/"):
                            self.positions.append((frame.ptr + "/" + escape_pointer(key) + p[len(sub) :], at))
        if len(out) == 1 and isinstance(out.get("fromEnv"), str):
            return SecretRef(out["fromEnv"])
        return out


def _merge_items(source: Any) -> Iterator[tuple[dict[str, Any], str]]:
    if isinstance(source, list):
        for i, item in enumerate(source):
            if isinstance(item, dict):
                yield item, f"/{i}"


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
    builder = _DocBuilder(file, diags)
    try:
        for doc in builder.documents(_backend(backend)(text)):
            docs.append(doc)
    except RecursionError:
        diags.append(Diagnostic(Location(file, 1, 1), NESTING_MESSAGE))
    except Exception as exc:  # every parser error becomes a diagnostic, never a traceback
        loc, message = _error_location(exc, file, text)
        if "nesting depth" in message:
            # libyaml's own depth limit (it scans ahead, so it can trip before our guard does)
            message = NESTING_MESSAGE
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


def load_files(
    files: Sequence[str], *, backend: str | None = None
) -> tuple[list[Resource], list[Diagnostic]]:
    """Load the given files (no directory walking)."""
    resources: list[Resource] = []
    diags: list[Diagnostic] = []
    for file in files:
        text, problem = read_manifest(file)
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
