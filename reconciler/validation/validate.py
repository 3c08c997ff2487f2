"""``reconciler validate``: load + schema + semantic checks, as one result.

The CLI stays thin: it calls ``validate_paths`` and prints the result with its format's renderer
(``reconciler.render``), exiting 1 when ``result.ok`` is false.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.manifests import load as manifests
from reconciler.model import Diagnostic, Resource
from reconciler.validation import inputs, parse_cache, schema, semantic

__all__ = [
    "FORMAT_VERSION",
    "ValidationResult",
    "sort_diagnostics",
    "validate_paths",
    "validate_resources",
    "validate_text",
]

FORMAT_VERSION = 1


@dataclass
class ValidationResult:
    """What ``validate`` found: the loaded resources and every problem, sorted by file/line."""

    resources: list[Resource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def _key(d: Diagnostic) -> tuple[int, str, int, int, str]:
    if d.location is None:
        return (0, "", 0, 0, d.message)
    return (1, d.location.file, d.location.line, d.location.col, d.message)


def sort_diagnostics(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """By file, line, column (problems without a location first); duplicates removed."""
    out: list[Diagnostic] = []
    seen: set[tuple[object, ...]] = set()
    for d in sorted(diagnostics, key=_key):
        k = (d.location, d.message, d.resource, d.severity)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out


def validate_resources(resources: list[Resource], diagnostics: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
    """Schema + semantic problems of loaded resources, plus ``diagnostics``, sorted."""
    return with_cross_file_checks(resources, [*diagnostics, *schema.validate_resources(resources)])


def with_cross_file_checks(
    resources: list[Resource], found: Sequence[Diagnostic], alone: Sequence[Resource] | None = None
) -> list[Diagnostic]:
    """``found`` (problems of single files) plus the semantic and input checks, tidied and sorted.
    ``alone``: only these resources are checked on their own (the others passed those checks
    already), every resource across files; look-alike names only among ``alone``."""
    single = resources if alone is None else alone
    every = [*found, *semantic.check(resources, single), *inputs.check(single)]
    return sort_diagnostics(inputs.tidy(every))


def validate_paths(paths: Sequence[str | Path]) -> ValidationResult:
    """Load every manifest under ``paths`` and run every offline check. Never raises for bad input."""
    files, diags = manifests.discover(paths)
    # parse + schema per file (cached by content, ``parse_cache``); cross-file checks every time
    resources, more, checked = parse_cache.load_checked(files)
    found = with_cross_file_checks(resources, [*diags, *more, *checked])
    return ValidationResult(resources, found, len(files))


def validate_text(text: str, file: str = "<string>") -> ValidationResult:
    """Validate YAML text as if it were one file (tests, README examples)."""
    resources, diags = manifests.load_text(text, file)
    return ValidationResult(resources, validate_resources(resources, diags), 1)
