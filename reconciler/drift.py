"""Drift, for people to read: what differs between the manifests and live state, with the live values.

Two views built from plans (pure functions, except ``plan_with_baseline`` which plans):

- ``drift_report(plan)``: every difference a plan would undo, grouped by resource and by kind of
  change (changed / missing / extra, of fields or of list entries such as members), with the live
  value next to the declared one. ``reconciler drift`` renders it as text, JSON or markdown.
- ``split_plan(pr, baseline)``: a pull request's plan split into the changes it introduces and the
  drift that was already there (the same changes appear when planning the base branch).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.diff import FieldChange, to_jsonable
from reconciler.errors import ConfigError, ValidationFailed
from reconciler.plan import Plan, Step, canonical
from reconciler.render import MARKDOWN_LIMIT, fit_markdown, markdown_warnings, plural

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

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
        entries = _entry_pairs(change)
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


# -- list entries (members by port, line keys by index) --------------------------------------------


def _entry_key(x: dict[str, Any]) -> str:
    if "port" in x:
        return f"port {x['port']}"
    return str(x.get("lineKeyIndex"))


def _entries(value: Any) -> dict[str, Any] | None:
    """A list of members / keys as {key: entry}; None when the value is no such list."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        out = {_entry_key(x): x for x in value}
        return out if len(out) == len(value) else None
    return None


def _entry_pairs(change: FieldChange) -> dict[str, tuple[Any, Any]] | None:
    """The differing entries of a list change: key -> (live, declared); None for a plain field."""
    before, after = _entries(change.before), _entries(change.after)
    if before is None and after is None:
        return None
    if (before is None and change.before not in (None, [], {})) or (
        after is None and change.after not in (None, [], {})
    ):
        return None
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after), key=_natural)
    return {
        k: (before.get(k), after.get(k)) for k in keys if canonical(before.get(k)) != canonical(after.get(k))
    }


def _natural(key: str) -> tuple[Any, ...]:
    parts = key.replace("port ", "").split(".")
    return (*(int(p) if p.isdigit() else 0 for p in parts), key)


def _subset(value: Any, keys: set[str]) -> Any:
    """The entries of a members list / keys mapping whose key is in ``keys``, same shape."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if str(k) in keys}
    if isinstance(value, list):
        return [x for x in value if isinstance(x, dict) and _entry_key(x) in keys]
    return value


# -- a pull request's plan against its base branch's ------------------------------------------------


@dataclass
class PlanReview:
    """A pull request's plan, split: what it introduces, and drift that was already there."""

    plan: Plan
    introduced: Plan
    preexisting: Plan
    baseline_paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The plan document (format_version 1, unchanged) plus a ``baseline`` section."""
        doc = self.plan.to_json()
        doc["baseline"] = {
            "paths": list(self.baseline_paths),
            "warnings": list(self.warnings),
            "introduced": _part_json(self.introduced),
            "preexisting": _part_json(self.preexisting),
        }
        return doc


def _part_json(part: Plan) -> dict[str, Any]:
    return {
        "summary": {**part.counts(), "changed_objects": part.changed_objects(), "steps": len(part.steps)},
        "steps": [
            {
                "id": s.id,
                "address": s.address,
                "resource": s.resource,
                "action": s.action,
                "phase": s.phase,
                "changes": [c.to_json() for c in s.changes],
            }
            for s in part.ordered()
        ],
    }


def split_plan(pr: Plan, baseline: Plan) -> tuple[Plan, Plan]:
    """(introduced, preexisting): a change also in the baseline's plan was there before the PR.

    Field changes are matched by step address, path, live value and declared value; list changes
    (members, line keys) entry by entry; a step without field changes (a push to phones, a prune)
    by its call. A step may land in both parts, each with its share of the changes.
    """
    base_steps = {s.address: s for s in baseline.steps}
    introduced: list[Step] = []
    preexisting: list[Step] = []
    for step in pr.ordered():
        old = base_steps.get(step.address)
        if not step.changes:
            (preexisting if old is not None and _same_call(step, old) else introduced).append(step)
            continue
        new_changes: list[FieldChange] = []
        old_changes: list[FieldChange] = []
        for change in step.changes:
            prior = next((c for c in old.changes if c.path == change.path), None) if old else None
            new, already = split_change(change, prior)
            if new is not None:
                new_changes.append(new)
            if already is not None:
                old_changes.append(already)
        if new_changes:
            introduced.append(replace(step, changes=new_changes))
        if old_changes:
            preexisting.append(replace(step, changes=old_changes))

    def part(steps: list[Step]) -> Plan:
        return Plan(steps=steps, paths=list(pr.paths), managed=pr.managed, targets=list(pr.targets))

    return part(introduced), part(preexisting)


def _same_call(a: Step, b: Step) -> bool:
    def key(s: Step) -> str:
        return canonical([s.action, s.method, s.path, s.body, sorted(s.depends_on)])

    return key(a) == key(b)


def split_change(
    change: FieldChange, prior: FieldChange | None
) -> tuple[FieldChange | None, FieldChange | None]:
    """(the part of ``change`` the PR introduces, the part already in the baseline's ``prior``)."""
    if prior is None:
        return change, None
    if _same(change, prior):
        return None, change
    if change.sensitive or prior.sensitive:
        return change, None
    pairs = _entry_pairs(change)
    prior_pairs = _entry_pairs(prior)
    if pairs is not None and prior_pairs is not None:
        old = {k for k, v in pairs.items() if k in prior_pairs and canonical(prior_pairs[k]) == canonical(v)}
        new = set(pairs) - old
        if not old:
            return change, None
        if not new:
            return None, change
        return _restrict(change, new), _restrict(change, old)
    if (
        isinstance(change.after, list)
        and isinstance(prior.after, list)
        and change.before == prior.before
        and all(not isinstance(x, dict | list) for x in [*change.after, *prior.after])
    ):
        seen = {canonical(x) for x in prior.after}
        already = [x for x in change.after if canonical(x) in seen]
        added = [x for x in change.after if canonical(x) not in seen]
        if not already:
            return change, None
        if not added:
            return None, change
        return replace(change, after=added), replace(change, after=already)
    return change, None


def _same(a: FieldChange, b: FieldChange) -> bool:
    return a.sensitive == b.sensitive and canonical([a.before, a.after]) == canonical([b.before, b.after])


def _restrict(change: FieldChange, keys: set[str]) -> FieldChange:
    return replace(change, before=_subset(change.before, keys), after=_subset(change.after, keys))


def baseline_paths(paths: list[str], baseline_dir: str, cwd: str | None = None) -> list[str]:
    """Each PATH at the same place under ``baseline_dir`` (relative to the current directory).

    A PATH outside the current directory can only be mapped when it is the only one: then
    ``baseline_dir`` itself stands for it. A PATH the baseline does not have (new in the pull
    request) is left out.
    """
    here = Path(os.path.normpath(Path(cwd or os.getcwd()).absolute()))
    out: list[str] = []
    for p in paths:
        full = Path(os.path.normpath(here / p))
        try:
            rel = full.relative_to(here)
        except ValueError:
            if len(paths) == 1:
                return [baseline_dir]
            raise ConfigError(
                f"--baseline: {p} is outside the current directory, so its place in {baseline_dir} is "
                "unknown; run from the repository root with relative PATHs"
            ) from None
        candidate = Path(baseline_dir) / rel
        if candidate.exists():
            out.append(str(candidate))
    return out


@contextmanager
def shared_reads(client: WebexClient) -> Iterator[None]:
    """While inside, identical GETs are answered once (both plans then read the same live state)."""
    original: Callable[..., Awaitable[Any]] = client.request
    cache: dict[str, asyncio.Task[Any]] = {}

    async def request(method: str, path: str, **kw: Any) -> Any:
        if method.upper() != "GET" or kw.get("token_override") or kw.get("json") is not None:
            return await original(method, path, **kw)
        key = canonical([path, sorted((str(k), str(v)) for k, v in (kw.get("params") or {}).items())])
        task = cache.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = asyncio.ensure_future(original(method, path, **kw))
            cache[key] = task
        return await asyncio.shield(task)

    try:
        attrs = vars(client)
    except TypeError:  # no instance dict: nothing shared, still correct
        yield
        return
    attrs["request"] = request
    try:
        yield
    finally:
        attrs.pop("request", None)


async def plan_with_baseline(
    client: WebexClient,
    paths: list[str],
    baseline_dir: str,
    targets: list[str] | None = None,
    prune: bool | None = None,
    rotate_secrets: bool = False,
) -> PlanReview:
    """Plan the PR's manifests and the baseline's against the same live state, and split the first."""
    from reconciler.planner import build_plan, select_targets
    from reconciler.session import load, make_plan

    warnings: list[str] = []
    base_paths = baseline_paths(paths, baseline_dir)
    with shared_reads(client):
        plan = await make_plan(client, paths, targets, prune, rotate_secrets)
        baseline = Plan(steps=[])
        if not base_paths:
            warnings.append(
                f"the baseline {baseline_dir} has none of {', '.join(paths)}: every change is new"
            )
        else:
            try:
                resources = load(base_paths)
                base_targets = [t for t in targets or [] if _names_something(select_targets, resources, t)]
                if not targets or base_targets:  # targets only new in the PR: nothing to compare with
                    baseline = await build_plan(
                        client,
                        resources,
                        paths=base_paths,
                        targets=base_targets or None,
                        prune=prune,
                        rotate_secrets=rotate_secrets,
                    )
            except ValidationFailed as exc:
                warnings.append(
                    f"the baseline's manifests could not be planned ({exc}); every change is shown as "
                    "introduced by this pull request"
                )
    introduced, preexisting = split_plan(plan, baseline)
    return PlanReview(plan, introduced, preexisting, base_paths, warnings)


def _names_something(
    select: Callable[[list[Any], list[str]], Any], resources: list[Any], target: str
) -> bool:
    try:
        select(resources, [target])
    except ConfigError:
        return False
    return True
