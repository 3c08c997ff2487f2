"""Drift: what differs between the manifests and live state, with the live values. Pure data.

``drift_report(plan)`` lists every difference a plan would undo, grouped by resource and by kind of
change (changed / missing / extra, of fields or of list entries such as members), with the live
value next to the declared one. Depends on ``reconciler.planning.plan``, ``reconciler.planning.diff`` and
``reconciler.planning.entries``; ``reconciler.render`` renders a ``DriftReport`` as text, JSON or markdown
(``reconciler drift``), this module never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.planning.diff import FieldChange, to_jsonable
from reconciler.planning.entries import entry_pairs
from reconciler.planning.plan import Plan, Step
from reconciler.planning.titles import step_title, title_for
from reconciler.workdir.journal import pending_origin

KINDS = ("changed", "missing", "extra")
# The list entries a field change may hold, by the last token of its path.
ENTRY_NAMES = {"members": "member", "lineKeys": "line key", "kemKeys": "KEM key"}
PLURALS = {"entry": "entries", "object": "object", "push": "pushes"}


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


@dataclass
class DriftReport:
    items: list[DriftItem]
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # resource -> its human name, as plans say

    def title(self, resource: str) -> str:
        """``Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)`` for ``Device/0A1B2C3D4E01``."""
        return self.titles.get(resource) or title_for(resource)

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

    def sources(self, resource: str) -> list[str]:
        """The manifest files a resource's differences come from."""
        return self.sources_by_resource().get(resource, [])

    def sources_by_resource(self) -> dict[str, list[str]]:
        """resource -> the manifest files its differences come from (resources without any left out)."""
        files: dict[str, set[str]] = {}
        for i in self.items:
            f = _file_of(i.source)
            if f:
                files.setdefault(i.resource, set()).add(f)
        return {r: sorted(fs) for r, fs in files.items()}


def drift_report(plan: Plan) -> DriftReport:
    """Every difference ``plan`` would undo, with live and declared values."""
    items: list[DriftItem] = []
    titles: dict[str, str] = {}
    for step in plan.ordered():
        items.extend(step_items(step))
        if step.address == step.resource or step.resource not in titles:
            titles[step.resource] = step_title(step)
    for held in plan.held:  # written by an earlier apply, held by the Policy: still not on the phone
        if held.get("pending"):
            live = f"{held['pending']}; held by the Policy (push: never)"
            device = str(held["device"])
            items.append(DriftItem(device, device, "missing", "push", "", live, "downloaded by the phone"))
    return DriftReport(items=items, paths=list(plan.paths), warnings=list(plan.warnings), titles=titles)


def step_items(step: Step) -> list[DriftItem]:
    """The differences behind one step. A push to phones follows from the others, but for the
    devices an earlier apply wrote and never pushed: each is a difference of its own."""
    if step.phase == 7:
        return _pending_items(step)

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
    return [found for change in step.changes for found in _change_items(change, item)]


def _change_items(change: FieldChange, item: Callable[..., DriftItem]) -> list[DriftItem]:
    """The differences one field change stands for: the field, each list entry, or an image."""
    path = _human_path(change.path)
    if change.sensitive:
        if change.before is None:  # write-only (a password): never read back, not drift
            return []
        return [item("changed", "field", path, None, None, sensitive=True)]
    entries = entry_pairs(change)
    if entries is not None:
        what = ENTRY_NAMES.get(change.path.rstrip("/").rsplit("/", 1)[-1], "entry")
        out = []
        for key, (b, a) in entries.items():
            label = str((a or b).get("member", "")) if isinstance(a or b, dict) else ""
            kind = "missing" if b is None else "extra" if a is None else "changed"
            out.append(item(kind, what, f"{path}[{key}]", b, a, label=label))
        return out
    kind = "missing" if change.before is None else "extra" if change.after is None else "changed"
    if change.path.startswith("/images/"):
        return [item(kind, "image", path.partition(".")[2], change.before, change.after)]
    return [item(kind, "field", path, change.before, change.after)]


def _pending_items(step: Step) -> list[DriftItem]:
    """A push owed by an earlier apply: the phone does not have what the API holds."""
    out = []
    for entry in step.meta.get("pending") or []:
        mac = str(entry.get("device", ""))
        out.append(
            DriftItem(
                f"Device/{mac}",
                step.address,
                "missing",
                "push",
                "",
                pending_origin(entry),
                "downloaded by the phone",
                step.source,
            )
        )
    return out


def _human_path(pointer: str) -> str:
    return pointer.lstrip("/").replace("/", ".")


def _file_of(source: str | None) -> str:
    if not source:
        return ""
    parts = source.rsplit(":", 2)
    return parts[0] if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() else source
