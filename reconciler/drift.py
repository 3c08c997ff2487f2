"""Drift, for people to read: what differs between the manifests and live state, with the live values.

``drift_report(plan)``: every difference a plan would undo, grouped by resource and by kind of
change (changed / missing / extra, of fields or of list entries such as members), with the live
value next to the declared one. ``reconciler drift`` renders it as text, JSON or markdown.
A pull request's plan split against its base branch's is in ``reconciler.review``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from reconciler import __version__
from reconciler.diff import to_jsonable
from reconciler.entries import entry_pairs
from reconciler.plan import Plan, Step, canonical
from reconciler.render import MARKDOWN_LIMIT, fit_markdown, markdown_warnings, plural

DRIFT_FORMAT_VERSION = 1
KINDS = ("changed", "missing", "extra")
# The list entries a field change may hold, by the last token of its path.
ENTRY_NAMES = {"members": "member", "lineKeys": "line key", "kemKeys": "KEM key"}
PLURALS = {"entry": "entries", "object": "object"}


# -- drift report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftItem:
    """One difference: ``live`` is what the org has now, ``declared`` what the manifests say.

    ``kind``: changed (both set, different), missing (declared, not live), extra (live, not declared).
    ``what``: field, member, line key, KEM key, image, object, device layout, entry.
    """

    resource: str
    address: str
    kind: str
    what: str
    path: str
    live: Any
    declared: Any
    source: str | None = None
    sensitive: bool = False
    label: str = ""  # the human reference of a list entry (``person alice@example.com``)

    @property
    def group(self) -> str:
        if self.what == "field":
            return self.kind
        return f"{self.kind} {PLURALS.get(self.what, self.what + 's')}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": self.address,
            "kind": self.kind,
            "what": self.what,
            "path": self.path,
            "live": "(sensitive)" if self.sensitive else to_jsonable(self.live),
            "declared": "(sensitive)" if self.sensitive else to_jsonable(self.declared),
            "source": self.source,
        }
        if self.label:
            out["label"] = self.label
        if self.sensitive:
            out["sensitive"] = True
        return out


@dataclass
class DriftReport:
    items: list[DriftItem]
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    def by_resource(self) -> dict[str, dict[str, list[DriftItem]]]:
        """resource -> group label -> items; resources in plan order, groups changed/missing/extra."""
        out: dict[str, dict[str, list[DriftItem]]] = {}
        for item in self.items:
            out.setdefault(item.resource, {})
        for kind in KINDS:
            for item in self.items:
                if item.kind == kind:
                    out[item.resource].setdefault(item.group, []).append(item)
        return out

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for item in self.items:
            out[item.kind] += 1
        return out

    def summary_line(self) -> str:
        if not self.items:
            return "No drift: live state matches the manifests."
        counts = ", ".join(f"{n:,} {k}" for k, n in self.counts().items() if n)
        return (
            f"Drift: {plural(len(self.items), 'difference')} in "
            f"{plural(len(self.by_resource()), 'resource')} ({counts})."
        )

    def sources(self, resource: str) -> list[str]:
        """The manifest files a resource's differences come from."""
        return self._sources().get(resource, [])

    def _sources(self) -> dict[str, list[str]]:
        files: dict[str, set[str]] = {}
        for i in self.items:
            f = _file_of(i.source)
            if f:
                files.setdefault(i.resource, set()).add(f)
        return {r: sorted(fs) for r, fs in files.items()}

    # -- renderers -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {}
        sources = self._sources()
        for r in self.by_resource():
            kind = r.partition("/")[0]
            by_kind[kind] = by_kind.get(kind, 0) + 1
        return {
            "format_version": DRIFT_FORMAT_VERSION,
            "kind": "drift",
            "tool": {"name": "reconciler", "version": __version__},
            "paths": list(self.paths),
            "drift": self.has_drift,
            "summary": {
                "differences": len(self.items),
                "resources": len(self.by_resource()),
                **self.counts(),
                "resources_by_kind": by_kind,
            },
            "warnings": list(self.warnings),
            "resources": [
                {
                    "resource": resource,
                    "files": sources.get(resource, []),
                    "groups": [
                        {
                            "group": label,
                            "kind": items[0].kind,
                            "what": items[0].what,
                            "items": [i.to_json() for i in items],
                        }
                        for label, items in groups.items()
                    ],
                }
                for resource, groups in self.by_resource().items()
            ],
        }

    def render_json(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def render_text(self, color: bool = False) -> str:
        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if color else text

        out: list[str] = [paint(f"Warning: {w}", "33") for w in self.warnings]
        if out:
            out.append("")
        sources = self._sources()
        for resource, groups in self.by_resource().items():
            files = sources.get(resource, [])
            out.append(paint(resource, "1") + (f"  ({', '.join(files)})" if files else ""))
            for label, items in groups.items():
                out.append(f"  {label} ({len(items)})")
                out.extend(f"    {item_line(i)}" for i in items)
            out.append("")
        out.append(self.summary_line())
        if self.items:
            out.append(
                "Live values are what the org has now; repo values are what the manifests declare. "
                "`reconciler apply` sets the org back to the manifests; or change the manifests to keep it."
            )
        return "\n".join(out) + "\n"

    def render_markdown(self, artifact: str | None = None, limit: int = MARKDOWN_LIMIT) -> str:
        head = ["### reconciler drift", "", f"**{self.summary_line()}**", ""]
        if self.items:
            table: dict[str, dict[str, int]] = {}
            for item in self.items:
                kind = item.resource.partition("/")[0]
                row = table.setdefault(kind, {"resources": 0, **dict.fromkeys(KINDS, 0)})
                row[item.kind] += 1
            for r in self.by_resource():
                table[r.partition("/")[0]]["resources"] += 1
            head += [
                "| kind | resources | changed | missing | extra |",
                "| --- | ---: | ---: | ---: | ---: |",
            ]
            for kind, row in table.items():
                head.append(
                    f"| {kind} | {row['resources']:,} | {row['changed']:,} | {row['missing']:,} | "
                    f"{row['extra']:,} |"
                )
            head.append("")
        head += markdown_warnings(self.warnings)
        if not self.items:
            return "\n".join(head)
        pointer = (
            f"Full report: `{artifact}`."
            if artifact
            else "Full report: run `reconciler drift --format json`."
        )
        sources = self._sources()
        blocks = [
            (resource.partition("/")[0], self._markdown_block(resource, groups, sources.get(resource, [])))
            for resource, groups in self.by_resource().items()
        ]
        return fit_markdown(head, [("", blocks)], limit=limit, pointer=pointer, unit="resource")

    def _markdown_block(self, resource: str, groups: dict[str, list[DriftItem]], files: list[str]) -> str:
        counts = ", ".join(group_phrase(label, items) for label, items in groups.items())
        lines = [f"<details><summary><code>{resource}</code>: {counts}</summary>", ""]
        if files:
            lines += [f"From {', '.join(f'`{f}`' for f in files)}.", ""]
        lines += ["| change | field | live (now) | repo (declared) |", "| --- | --- | --- | --- |"]
        for label, items in groups.items():
            for i in items:
                live, declared = shown_values(i)
                where = i.path + (f" ({i.label})" if i.label else "")
                lines.append(f"| {label} | {_cell(where)} | {_cell(live)} | {_cell(declared)} |")
        lines += ["", "</details>"]
        return "\n".join(lines)

    def render(self, fmt: str, color: bool = False, artifact: str | None = None) -> str:
        if fmt == "json":
            return self.render_json()
        if fmt == "markdown":
            return self.render_markdown(artifact=artifact)
        return self.render_text(color=color)


def drift_report(plan: Plan) -> DriftReport:
    """Every difference ``plan`` would undo, with live and declared values."""
    items: list[DriftItem] = []
    for step in plan.ordered():
        items.extend(step_items(step))
    return DriftReport(items=items, paths=list(plan.paths), warnings=list(plan.warnings))


def step_items(step: Step) -> list[DriftItem]:
    """The differences behind one step (none for pushes to phones: they follow from the others)."""
    if step.phase == 7:
        return []

    def item(kind: str, what: str, path: str, live: Any, declared: Any, **kw: Any) -> DriftItem:
        return DriftItem(step.resource, step.address, kind, what, path, live, declared, step.source, **kw)

    if step.job_type == "applyLineKeyTemplate":
        template = step.meta.get("template", "")
        return [
            item(
                "changed",
                "device layout",
                f"Device/{m}",
                "differs from the template",
                f"template {template!r}",
            )
            for c in step.changes
            for m in c.after or []
        ]
    if step.action == "create" and step.address == step.resource:
        declared = {_human_path(c.path): to_jsonable(c.after) for c in step.changes}
        return [item("missing", "object", "", None, declared or step.summary)]
    if not step.changes:
        if step.action == "delete":
            return [item("extra", "object", "", step.summary or "exists", None)]
        return []
    out: list[DriftItem] = []
    for change in step.changes:
        path = _human_path(change.path)
        if change.sensitive:
            if change.before is None:  # write-only (a password): never read back, not drift
                continue
            out.append(item("changed", "field", path, None, None, sensitive=True))
            continue
        entries = entry_pairs(change)
        if entries is not None:
            what = ENTRY_NAMES.get(change.path.rstrip("/").rsplit("/", 1)[-1], "entry")
            for key, (b, a) in entries.items():
                label = str((a or b).get("member", "")) if isinstance(a or b, dict) else ""
                kind = "missing" if b is None else "extra" if a is None else "changed"
                out.append(item(kind, what, f"{path}[{key}]", b, a, label=label))
            continue
        if change.path.startswith("/images/"):
            kind = "missing" if change.before is None else "extra" if change.after is None else "changed"
            out.append(item(kind, "image", path.partition(".")[2], change.before, change.after))
            continue
        kind = "missing" if change.before is None else "extra" if change.after is None else "changed"
        out.append(item(kind, "field", path, change.before, change.after))
    return out


def item_line(i: DriftItem) -> str:
    live, declared = shown_values(i)
    where = i.path + (f" ({i.label})" if i.label else "")
    return f"{where}: live {live}; repo {declared}" if where else f"live {live}; repo {declared}"


def shown_values(i: DriftItem) -> tuple[str, str]:
    """(live, declared) for people: only the differing attributes of a changed list entry."""
    if i.sensitive:
        return "(sensitive)", "(sensitive)"
    live, declared = i.live, i.declared
    if i.label:  # the label names the entry already
        live = {k: v for k, v in live.items() if k != "member"} if isinstance(live, dict) else live
        declared = (
            {k: v for k, v in declared.items() if k != "member"} if isinstance(declared, dict) else declared
        )
    if i.kind == "changed" and isinstance(live, dict) and isinstance(declared, dict):
        keys = [k for k in {**live, **declared} if canonical(live.get(k)) != canonical(declared.get(k))]
        if keys:
            live = {k: live.get(k) for k in keys}
            declared = {k: declared.get(k) for k in keys}
    absent = "(not set)" if i.what == "field" else "(absent)"
    return _show(live, absent), _show(declared, "(not declared)")


def group_phrase(label: str, items: list[DriftItem]) -> str:
    """``2 changed``, ``1 missing member``, ``3 extra members``."""
    if len(items) == 1 and items[0].what != "field":
        return f"1 {items[0].kind} {items[0].what}"
    return f"{len(items)} {label}"


def _show(value: Any, none: str) -> str:
    if value is None:
        return none
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def _cell(text: str) -> str:
    text = text.replace("\n", " ").replace("|", "\\|")
    if len(text) > 400:
        text = text[:400] + "..."
    return f"`{text}`" if text else ""


def _human_path(pointer: str) -> str:
    return pointer.lstrip("/").replace("/", ".")


def _file_of(source: str | None) -> str:
    if not source:
        return ""
    parts = source.rsplit(":", 2)
    return parts[0] if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() else source
