"""YAML text to documents: PyYAML's composer (libyaml's C one when PyYAML has it, else the
pure-Python one; ``RECONCILER_YAML_BACKEND`` forces one of ``available_backends()``), with the
tag resolution left to ``reconciler.manifests.nodes``, and every parser error a ``Diagnostic``
with its position (runaway nesting: one diagnostic, the rest of the file skipped, whichever of
libyaml's limit or ours trips first).
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, ScalarNode

from reconciler.manifests import blockyaml
from reconciler.manifests.nodes import (
    _IMPLICIT,
    _MAP_TAG,
    _NAME_RE,
    _SEQ_TAG,
    MAX_DEPTH,
    NESTING_MESSAGE,
    Document,
    _Builder,
    _Stop,
)
from reconciler.model import Diagnostic, Location


def _resolve(self: Any, kind: Any, value: Any, implicit: Any) -> str:
    """Replaces PyYAML's YAML 1.1 resolver: scalars keep their text until ``_Builder.scalar``."""
    if kind is ScalarNode:
        return _IMPLICIT
    return _MAP_TAG if kind is MappingNode else _SEQ_TAG


class _PureLoader(yaml.SafeLoader):  # type: ignore[misc]
    """Also takes anchors defined twice (YAML 1.2: an alias refers to the latest), which
    PyYAML's composers refuse: a file with one is composed by this loader whatever the backend."""

    resolve = _resolve
    max_depth = 2 * MAX_DEPTH  # it recurses: stopped well before the stack is (deeper is an error anyway)
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if event.anchor is not None and not isinstance(event, AliasEvent):
            self.anchors.pop(event.anchor, None)
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= self.max_depth:
            raise ComposerError(None, None, "exceeded maximum nesting depth", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _ExactDepthLoader(_PureLoader):
    """Finds the first node nested too deep when libyaml's own limit (1000 levels) tripped first."""

    max_depth = MAX_DEPTH


_LOADERS: dict[str, Any] = {}
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(yaml.CSafeLoader):  # type: ignore[misc]
        resolve = _resolve  # libyaml keeps its own nesting limit (1000 levels)

    _LOADERS["pyyaml-c"] = _CLoader
_LOADERS["pyyaml-pure"] = _PureLoader


def available_backends() -> list[str]:
    """Parser backends usable here, fastest first (``RECONCILER_YAML_BACKEND`` picks one)."""
    return list(_LOADERS)


def _loader(name: str | None) -> Any:
    name = name or os.environ.get("RECONCILER_YAML_BACKEND") or ""
    return _LOADERS.get(name) or next(iter(_LOADERS.values()))


def _name_at(text: str, mark: Any, sigil: str) -> str:
    """The anchor (``&``) or alias (``*``) name written at ``mark`` (after any other property)."""
    index = int(getattr(mark, "index", -1))
    line_end = text.find("\n", index)
    for match in _NAME_RE.finditer(text, index, line_end if line_end >= 0 else len(text)):
        if match[0][0] == sigil:
            return match[1]
    return "?"


def _error_location(exc: BaseException, file: str, text: str) -> tuple[Location, str]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if mark is not None:
        loc = Location(file, int(getattr(mark, "line", 0)) + 1, int(getattr(mark, "column", 0)) + 1)
    else:
        loc = Location(file, 1, 1)
    problem = str(problem or "")
    if "nesting depth" in problem:
        # libyaml's own depth limit (it scans ahead), or the pure-Python composer's guard
        return loc, NESTING_MESSAGE
    if problem.startswith("found undefined alias"):
        name = _name_at(text, mark, "*")
        return loc, f"alias *{name} refers to an anchor that is not defined before it"
    if problem:
        message = f"{context}: {problem}" if context else problem
    else:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return loc, f"invalid YAML: {message}"


def _compose(text: str, file: str, loader_cls: Any) -> tuple[list[Document], list[Diagnostic], Any]:
    """Documents and diagnostics, and the loader to compose the file with again if this one cannot
    (PyYAML refuses an anchor defined twice; libyaml's nesting limit does not say where ours is)."""
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    builder = _Builder(file, text, loader_cls, diags)
    loader = loader_cls(text)
    try:
        index = 0
        while loader.check_node():
            doc = builder.document(loader.get_node(), index)
            if doc is not None:
                docs.append(doc)
            index += 1
    except _Stop:
        pass  # runaway nesting: the rest of the file is not parsed
    except RecursionError:
        diags.append(Diagnostic(Location(file, 1, 1), NESTING_MESSAGE, code="yaml"))
    except Exception as exc:  # every parser error becomes a diagnostic, never a traceback
        pure = issubclass(loader_cls, _PureLoader)
        if not pure and str(getattr(exc, "context", "")).startswith("found duplicate anchor"):
            return docs, diags, _PureLoader
        if loader_cls is not _ExactDepthLoader and "nesting depth" in str(getattr(exc, "problem", "")):
            return docs, diags, _ExactDepthLoader
        diags.append(Diagnostic(*_error_location(exc, file, text), code="yaml"))
    finally:
        loader.dispose()
    return docs, diags, None


# Text that may nest deeper than MAX_DEPTH: more than MAX_DEPTH flow collections opened with none
# closed in between, or a line indented past what MAX_DEPTH block levels could need. Such text goes
# straight to the pure-Python loader, whose guard stops at MAX_DEPTH: libyaml builds older than the
# ones with a nesting limit of their own overflow the C stack on it (a crash, not an error).
_DEEP_FLOW = re.compile(r"(?:[\[{][^\[\]{}]*){" + str(MAX_DEPTH + 1) + "}")
_DEEP_BLOCK = re.compile(r"^[ \t-]{" + str(4 * MAX_DEPTH) + "}", re.M)


def _may_nest_too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") > MAX_DEPTH and _DEEP_FLOW.search(text):
        return True
    return bool(_DEEP_BLOCK.search(text))


def parse_documents(
    text: str, file: str, *, backend: str | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Every non-empty document in ``text``; YAML problems as diagnostics (never raises). Plain
    block text takes ``blockyaml``'s fast path unless a backend is asked for."""
    if backend is None and not os.environ.get("RECONCILER_YAML_BACKEND"):
        fast = blockyaml.parse(text, file)
        if fast is not None:
            return fast, []
    loader = _loader(backend)
    if not issubclass(loader, _PureLoader) and _may_nest_too_deep(text):
        loader = _ExactDepthLoader
    docs, diags, again = _compose(text, file, loader)
    if again is not None:
        docs, diags, _ = _compose(text, file, again)
    return docs, diags
