"""What every format shares: step symbols, field-change lines, counts and summary sentences.

Depends on the data modules (``planning.plan``, ``planning.diff``, ``planning.entries``,
``planning.drift``); none of them imports ``reconciler.render``.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

from reconciler.model import SecretRef
from reconciler.planning.diff import FieldChange, to_jsonable
from reconciler.planning.entries import entry_pairs
from reconciler.planning.plan import Plan, Step, canonical
from reconciler.planning.titles import title_for
from reconciler.textsafe import visible
from reconciler.webex.redact import redact

if TYPE_CHECKING:
    from reconciler.planning.drift import DriftItem, DriftReport

SYMBOL = {"create": "+", "update": "~", "delete": "-", "job": "*", "invoke": ">"}
COLOR = {"create": "32", "update": "33", "delete": "31", "job": "36", "invoke": "35"}

INTRODUCED_TITLE = "Changes this pull request introduces"
PREEXISTING_TITLE = "Drift that was already there"
PREEXISTING_NOTE = (
    "Live state already differed from the base branch's manifests here (a change made outside git, "
    "e.g. in Control Hub). Applying this pull request also sets it back to the manifests."
)


def paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def shown(what: object) -> str:
    """Text as a terminal shows it: every registered secret masked, each line's invisible
    characters escaped (a CR in a token or a name cannot rewrite the terminal line)."""
    return "\n".join(visible(line) for line in redact(str(what)).split("\n"))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# -- plans ----------------------------------------------------------------------------------------


WIDTH = 100  # the text a person reads wraps before this column when not shown on a terminal
MIN_WIDTH, MAX_WIDTH = 40, 200
CHANGE_INDENT = 8  # change lines sit indented under their step


def text_width() -> int:
    """The column the text a person reads wraps before (user values excepted): ``COLUMNS`` when
    set, else the terminal's width when stdout is one, else 100; kept within 40..200."""
    columns = shutil.get_terminal_size((WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns or WIDTH))


def change_width() -> int:
    return text_width() - CHANGE_INDENT


def object_counts(plan: Plan) -> dict[str, int]:
    """Objects to create, update and delete: a device whose members and layout change is one update.

    An object with a create step is created; one whose every counted step deletes is deleted; any
    other counted object is updated. Pushes (applyChanges, rebuildPhones) change no object.
    """
    actions: dict[str, set[str]] = {}
    for s in plan.steps:
        if s.counts:
            actions.setdefault(s.resource, set()).add(s.action)
    out = {"create": 0, "update": 0, "delete": 0}
    for acts in actions.values():
        out["create" if "create" in acts else "delete" if acts == {"delete"} else "update"] += 1
    return out


def job_devices(step: Step) -> int | None:
    """How many devices a bulk job touches, when the plan knows (template preview, rebuild list)."""
    if step.job_type == "applyLineKeyTemplate":
        count = step.meta.get("deviceCount")
        return int(count) if isinstance(count, int) else None
    if step.job_type == "rebuildPhones":
        return len(step.meta.get("devices", []))
    return None


def jobs_phrase(plan: Plan) -> str:
    """``1 job touching 48 devices``; settings jobs reach a whole location or org: ``, 1 location``."""
    jobs = [s for s in plan.ordered() if s.action == "job"]
    if not jobs:
        return ""
    counted = [n for n in (job_devices(s) for s in jobs) if n is not None]
    kinds = [s.resource.partition("/")[0] for s in jobs]
    reach = [plural(sum(counted), "device")] if counted else []
    if "LocationDeviceSettings" in kinds:
        reach.append(plural(kinds.count("LocationDeviceSettings"), "location"))
    if "OrgDeviceSettings" in kinds:
        reach.append("the org")
    unknown = sum(
        1
        for s, k in zip(jobs, kinds, strict=True)
        if job_devices(s) is None and not k.endswith("DeviceSettings")
    )
    if unknown:
        reach.append(f"{unknown} to count after apply")
    return f"{plural(len(jobs), 'job')} touching " + ", ".join(reach)


def pending_count(plan: Plan) -> int:
    """The devices an earlier apply wrote and never pushed, that this plan pushes."""
    return sum(len(s.meta.get("pending") or []) for s in plan.steps)


_MEANING = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "job": "a job the API runs (it may change many devices)",
    "invoke": "push to one phone",
}


def legend_line(plan: Plan) -> str:
    """What the symbols the plan uses mean: ``Symbols: + create, ~ update, * a job ...``."""
    used = [a for a in _MEANING if any(s.action == a for s in plan.steps)]
    return "Symbols: " + ", ".join(f"{SYMBOL[a]} {_MEANING[a]}" for a in used) + "."


def summary_line(plan: Plan) -> str:
    """``Plan: 2 to create, 15 to update, 0 to delete; 1 job touching 48 devices.``, and the pushes
    an earlier apply left (``; 2 pushes left by an earlier apply.``)."""
    if plan.empty:
        return "No changes. Live state matches the manifests."
    o = object_counts(plan)
    line = f"Plan: {o['create']:,} to create, {o['update']:,} to update, {o['delete']:,} to delete"
    extra = [p for p in (jobs_phrase(plan),) if p]
    owed = pending_count(plan)
    if owed:
        extra.append(f"{owed:,} push{'' if owed == 1 else 'es'} left by an earlier apply")
    return line + (f"; {'; '.join(extra)}." if extra else ".")


def held_lines(plan: Plan, shown: int = 20) -> list[str]:
    """The pushes ``Policy.push: never`` holds: written, not sent until ``reconciler push``."""
    if not plan.held:
        return []
    count = plural(len(plan.held), "device")
    out = [f"Pushes held by the Policy (push: never): {count}; `reconciler push` sends them:"]
    out += [f"  {h.get('device')} ({h.get('reason')})" for h in plan.held[:shown]]
    if len(plan.held) > shown:
        out.append(f"  ... and {len(plan.held) - shown:,} more")
    return [*out, ""]


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    # live values come from the API: C1 controls, bidi and line separators escaped too
    return visible(json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=False))


# Fields an entry's key already says (``members[port 2]``, ``lineKeys[3]``, ``kemKeys[1.2]``).
_KEY_FIELDS = ("port", "lineKeyIndex", "kemModuleIndex", "kemKeyIndex")


def _entry_text(entry: Any) -> list[str]:
    """An added or removed entry: its attributes as ``name: value``, without those its key says."""
    if not isinstance(entry, dict):
        return [_fmt(entry)]
    return [f"{k}: {_fmt(v)}" for k, v in entry.items() if k not in _KEY_FIELDS]


def wrap(first: str, pieces: list[str], indent: int = 4, width: int | None = None) -> list[str]:
    """``first`` then the ``pieces`` joined by ``, `` on lines of at most ``width`` columns (a piece
    longer than a line stays whole); continuation lines indented by ``indent``."""
    width = width or change_width()
    lines = [first]
    fresh = True  # nothing on the current line after its prefix yet
    for i, piece in enumerate(pieces):
        piece += "," if i < len(pieces) - 1 else ""
        room = len(lines[-1]) + (0 if fresh else 1) + len(piece) <= width
        if room or (fresh and indent + len(piece) > width):  # a piece too long anyway stays put
            lines[-1] += ("" if fresh else " ") + piece
        else:
            lines[-1] = lines[-1].rstrip()
            lines.append(" " * indent + piece)
        fresh = False
    return lines


def change_lines(change: FieldChange) -> list[str]:
    """Human lines for one field change: of a list, only the entries that differ, and of a changed
    entry only its differing attributes (``members[port 1].lineWeight: 1 -> 2``)."""
    path = change.path.lstrip("/").replace("/", ".")
    if change.sensitive:
        source = f", from {change.after.env}" if isinstance(change.after, SecretRef) else ""
        return [f"~ {path}: (sensitive{source})"]
    pairs = entry_pairs(change)
    if pairs:
        lines: list[str] = []
        for key, (b, a) in pairs.items():
            where = f"{path}[{key}]"
            if b is None:
                lines += wrap(f"+ {where}: ", _entry_text(a))
            elif a is None:
                lines += wrap(f"- {where}: ", _entry_text(b))
            elif isinstance(b, dict) and isinstance(a, dict):
                for attr in [k for k in {**b, **a} if canonical(b.get(k)) != canonical(a.get(k))]:
                    lines.append(_field_line(f"{where}.{attr}", b.get(attr), a.get(attr)))
            else:
                lines.append(_field_line(where, b, a))
        return lines
    line = _field_line(path, change.before, change.after)
    if not change.follows:
        return [line]
    note = f"(follows {change.follows})"
    return [f"{line} {note}"] if len(line) + 1 + len(note) <= change_width() else [line, f"    {note}"]


def _field_line(path: str, before: Any, after: Any) -> str:
    if before is None:
        return f"+ {path}: {_fmt(after)}"
    if after is None:
        return f"- {path}: {_fmt(before)}"
    return f"~ {path}: {_fmt(before)} -> {_fmt(after)}"


LISTED_DEVICES = 20  # devices a step lists before "... and N more" (all of them with --verbose)


def _more(devices: list[Any], shown: int) -> list[str]:
    left = len(devices) - shown
    return [f"... and {left:,} more device(s) (--verbose lists every one)"] if left > 0 else []


def push_lines(step: Step, shown: int = LISTED_DEVICES) -> list[str]:
    """Why a push (phase 7) is planned: the devices a rebuild covers, each with its reason, or the
    reason of one device's applyChanges."""
    reasons = step.meta.get("reasons") or {}
    if step.action != "job":
        return [line for r in reasons.values() for line in wrap("why: ", str(r).split("; "))]
    devices = step.meta.get("devices", [])
    titles = step.meta.get("deviceTitles") or {}
    lines: list[str] = []
    for d in devices[:shown]:
        why = str(reasons.get(d) or "").split("; ")
        name = titles.get(d) or title_for(d)
        lines += wrap(f"covers {name}: ", why) if why != [""] else [f"covers {name}"]
    return lines + _more(devices, shown)


def layout_lines(step: Step, macs: list[str], shown: int = LISTED_DEVICES) -> list[str]:
    """The devices a template's job changes, each with its owner and how its layout changes."""
    titles = step.meta.get("deviceTitles") or {}
    changes = step.meta.get("layoutChanges") or {}
    lines = []
    for mac in macs[:shown]:
        name = titles.get(mac) or title_for(f"Device/{mac}")
        line, change = f"~ layout of {name}", changes.get(mac)
        if change:
            fits = len(line) + 2 + len(change) <= change_width()
            lines += [f"{line}: {change}"] if fits else [f"{line}:", f"    {change}"]
        else:
            lines.append(line)
    return lines + _more(macs, shown)


def step_change_lines(step: Step, verbose: bool = False) -> list[str]:
    """A step's field changes, line by line (a template job: the devices whose layout changes; a
    push: why); a long device list is cut after 20 unless ``verbose``."""
    shown = 1 << 62 if verbose else LISTED_DEVICES
    if step.phase == 7:
        return push_lines(step, shown)
    lines: list[str] = []
    for change in step.changes:
        if step.job_type == "applyLineKeyTemplate":
            lines.extend(layout_lines(step, list(change.after or []), shown))
        else:
            lines.extend(change_lines(change))
    return lines


def unreached_lines(step: Step) -> list[str]:
    """Where an org settings change does not reach (``reconciler.planning.kinds.not_reached``), a line for the
    fields alike: ``! mpp.cdpEnabled, mpp.phoneLanguage: 1 location and 2 devices keep their own
    settings, set outside any manifest: Lab, 0A:1B:2C:3D:4E:03, ...``."""
    found = step.meta.get("notReached")
    items = found.get("fields", []) if isinstance(found, dict) else []
    alike: dict[tuple[tuple[str, ...], int, tuple[str, ...]], list[str]] = {}
    for item in items:
        key = (
            tuple(map(str, item.get("locations") or [])),
            int(item.get("devices") or 0),
            tuple(map(str, item.get("sample") or [])),
        )
        alike.setdefault(key, []).append(str(item.get("field")))
    lines: list[str] = []
    for (locs, devices, sample), fields in alike.items():
        counts = [plural(len(locs), "location")] if locs else []
        counts += [plural(devices, "device")] if devices else []
        names = [*locs, *sample]
        more = ", ..." if len(names) > 5 or devices > len(sample) else ""
        verb = "keeps its own settings" if len(locs) + devices == 1 else "keep their own settings"
        lines.append(
            f"! {', '.join(fields)}: {' and '.join(counts)} {verb}, set outside any manifest: "
            f"{', '.join(names[:5])}{more}"
        )
    return lines


def call_line(step: Step) -> str:
    """The API call of a step (``--verbose`` and JSON): ``PUT /telephony/config/devices/ID/layout``."""
    return f"{step.method} {step.path}"


# -- drift reports --------------------------------------------------------------------------------


def drift_summary_line(report: DriftReport) -> str:
    if not report.items:
        return "No drift: live state matches the manifests."
    counts = ", ".join(f"{n:,} {k}" for k, n in report.counts().items() if n)
    return (
        f"Drift: {plural(len(report.items), 'difference')} in "
        f"{plural(len(report.by_resource()), 'resource')} ({counts})."
    )


def group_phrase(label: str, items: list[DriftItem]) -> str:
    """``2 changed``, ``1 missing member``, ``3 extra members``."""
    if len(items) == 1 and items[0].what != "field":
        return f"1 {items[0].kind} {items[0].what}"
    return f"{len(items)} {label}"


def item_where(i: DriftItem) -> str:
    """Where a difference is: its path, and the entry's label (``members[port 1] (person a@x)``)."""
    return i.path + (f" ({i.label})" if i.label else "")


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


def _show(value: Any, none: str) -> str:
    if value is None:
        return none
    return visible(json.dumps(to_jsonable(value), ensure_ascii=False))
