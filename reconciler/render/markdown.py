"""Markdown for a pull-request comment: plans, PR reviews and drift reports, bounded and escaped.

Each comment puts its summary first, collapses the details, and stays within ``limit`` characters,
saying what it left out and where the whole is. Depends on ``reconciler.render.common`` and the data
it renders (``planning.plan``, ``planning.drift``, ``planning.review``); none of them imports it.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.planning.drift import KINDS
from reconciler.planning.plan import ACTIONS, PHASES, Plan, Step, secret_lines, threshold_line
from reconciler.planning.titles import step_title
from reconciler.render.common import (
    INTRODUCED_TITLE,
    PREEXISTING_NOTE,
    PREEXISTING_TITLE,
    SYMBOL,
    call_line,
    drift_summary_line,
    group_phrase,
    held_lines,
    item_where,
    plural,
    shown_values,
    step_change_lines,
    summary_line,
    unreached_lines,
)
from reconciler.textsafe import visible
from reconciler.webex.redact import redact

if TYPE_CHECKING:
    from reconciler.planning.drift import DriftItem, DriftReport
    from reconciler.planning.review import PlanReview

MARKDOWN_LIMIT = 60_000
WARNINGS_SHOWN = 10


# -- user text in markdown -------------------------------------------------------------------------
# Names, labels, values and paths come from manifests (a pull request) and from the API: every one is
# escaped where it lands, so that none can close a collapsed section (</summary></details>), a code
# span or a fenced block, or start a link or an image.


def _one_line(text: str) -> str:
    return visible(text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))


def md_text(text: str) -> str:
    """Text for a summary line, a quote or a cell: one line, ``<>&`` as entities, markdown
    punctuation as numeric references (no tag, link, image, emphasis or code span can start),
    invisible characters escaped."""
    escaped = html.escape(_one_line(text), quote=False)
    return _MD_PUNCT.sub(lambda m: f"&#{ord(m.group())};", escaped)


def md_code(text: str) -> str:
    """Text as ``<code>`` (escaped as ``md_text``): no tag in it can close the section."""
    return f"<code>{md_text(text)}</code>"


def md_span(text: str) -> str:
    """Text as a markdown code span (in a table cell or a sentence): delimited by more backticks
    than any run it holds, ``|`` escaped for tables, one line."""
    text = _one_line(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    tick = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def md_fence(lines: list[str], info: str = "") -> list[str]:
    """Lines as a fenced code block whose fence is longer than any backtick run they hold."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *(visible(line) for line in lines), fence]


_MD_PUNCT = re.compile(r"[\\`*_\[\]|!]")


# -- bounded markdown ----------------------------------------------------------------------------


def markdown_warnings(warnings: list[str], shown: int = WARNINGS_SHOWN) -> list[str]:
    """At most ``shown`` warnings (each cut to 300 characters), then how many more there are."""
    out = [f"> Warning: {md_text(redact(w)[:300])}" for w in warnings[:shown]]  # masked, then cut
    if len(warnings) > shown:
        out.append(f"> ... and {len(warnings) - shown:,} more warning(s) (see the full output).")
    if out:
        out.append("")
    return out


def fit_markdown(
    head: list[str],
    sections: list[tuple[str, list[tuple[str, str]]]],
    *,
    limit: int,
    pointer: str,
    unit: str = "step",
) -> str:
    """``head``, then each (title, [(category, block)]) section in order, within ``limit`` characters.

    Blocks are kept in order until one does not fit; everything after it is left out, and a closing
    note says how many of each section and category were left out, and where the whole is.
    """
    note_budget = 600 + 80 * len({cat for _, blocks in sections for cat, _ in blocks})
    parts: list[str] = list(head)
    size = sum(len(p) + 1 for p in parts)
    left_out: dict[str, dict[str, int]] = {}
    full = False
    for title, blocks in sections:
        if title:
            parts += ["", title, ""]
            size += len(title) + 3
        if not blocks:
            parts.append("_None._")
            size += 8
        for category, block in blocks:
            if not full and size + len(block) + 1 + note_budget > limit:
                full = True
            if full:
                per = left_out.setdefault(title or "", {})
                per[category] = per.get(category, 0) + 1
                continue
            parts.append(block)
            size += len(block) + 1
    if left_out:
        total = sum(sum(per.values()) for per in left_out.values())
        detail = "; ".join(
            (f"{title.splitlines()[0].strip('#').strip()}: " if title else "")
            + ", ".join(f"{cat} {n:,}" for cat, n in per.items())
            for title, per in left_out.items()
        )
        note = (
            f"\n\n_Left out to stay under {limit:,} characters: {plural(total, unit)} ({detail}). "
            f"{pointer}_\n"
        )
    else:
        note = f"\n\n{pointer}\n"
    text = "\n".join(parts)
    if len(text) + len(note) > limit:  # a head larger than the budget: cut it, keep the note
        text = text[: max(0, limit - len(note) - 20)] + "\n\n(cut)"
    return text + note


def _cell(text: str) -> str:
    """A table cell: one line, at most 400 characters, as code (escaped: see ``md_span``)."""
    text = redact(text)  # masked before it is cut
    if len(text) > 400:
        text = text[:400] + "..."
    return md_span(text) if text else ""


# -- plans ------------------------------------------------------------------------------------------


def diff_lines(lines: list[str]) -> list[str]:
    """Change lines as GitHub's ``diff`` highlighting reads them: ``~ a: x -> y`` becomes ``- a: x``
    and ``+ a: y``; a wrapped continuation line takes the sign of the line it continues."""
    out: list[str] = []
    sign = " "
    for line in lines:
        if line.startswith(" "):
            out.append(sign + line[1:])
            continue
        sign = line[:1]
        head, arrow, after = line[2:].partition(": ")
        if sign == "~" and arrow and after.count(" -> ") == 1:
            before, _, new = after.partition(" -> ")
            out += [f"- {head}: {before}", f"+ {head}: {new}"]
            sign = "+"
        else:
            out.append(line)
    return out


def _unwrapped(lines: list[str]) -> list[str]:
    """Change lines with a ``(follows org)`` note, or a device's change after its name, that text
    wraps put back on their line (a diff block has no width to keep)."""
    out: list[str] = []
    for line in lines:
        after_name = out and out[-1].endswith(":") and line.startswith("    ")
        if after_name or (out and line.startswith("    (follows ") and line.endswith(")")):
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def _step_lines(step: Step, verbose: bool = False) -> list[str]:
    body = [*diff_lines(_unwrapped(step_change_lines(step, verbose))), *unreached_lines(step)]
    if verbose:
        body.insert(0, f"  {call_line(step)}")
    where = f" <sub>{md_text(step.source)}</sub>" if step.source else ""
    what = f": {md_text(step.summary)}" if step.summary else ""
    out = [
        f"<details><summary><code>{SYMBOL[step.action]}</code> <b>{md_text(step_title(step))}</b>"
        f"{what}{where}</summary>",
        "",
    ]
    if body:
        out += [*md_fence(body, "diff"), ""]
    return [*out, "</details>"]


def markdown_step_block(step: Step, verbose: bool = False) -> str:
    """One step as a collapsed ``<details>`` block with its field changes (``verbose``: its call)."""
    return "\n".join([*_step_lines(step, verbose), ""])


SECRETS_SHOWN = 20


def _plan_notes(plan: Plan) -> list[str]:
    """The safety threshold in force (when the plan changes anything) and each declared
    write-only secret: written or not, and why (at most ``SECRETS_SHOWN``)."""
    out = [f"_{threshold_line(plan)}_", ""] if not plan.empty else []
    notes = secret_lines(plan)
    if notes:
        out += [f"- {n}" for n in notes[:SECRETS_SHOWN]]
        if len(notes) > SECRETS_SHOWN:
            out.append(f"- ... and {len(notes) - SECRETS_SHOWN} more write-only secret(s).")
        out.append("")
    held = held_lines(plan, SECRETS_SHOWN)
    if held:
        out += [md_text(held[0]), *(f"- {md_text(line.strip())}" for line in held[1:-1]), ""]
    return out


def render_markdown(
    plan: Plan, artifact: str | None = None, limit: int = MARKDOWN_LIMIT, verbose: bool = False
) -> str:
    """A PR comment: summary table first, details collapsed, cut to ``limit`` characters."""
    head = ["### reconciler plan", "", summary_line(plan), "", *_plan_notes(plan)]
    if plan.empty:
        return "\n".join(head)
    per_phase: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in plan.steps:
        per_phase[s.phase][s.action] += 1
    head += [
        "| phase | create | update | delete | job | invoke |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in sorted(per_phase):
        c = per_phase[phase]
        cells = " | ".join(str(c[a]) for a in ("create", "update", "delete", "job", "invoke"))
        head.append(f"| {phase}. {PHASES[phase]} | {cells} |")
    head.append("")
    head += markdown_warnings(plan.warnings)
    pointer = (
        f"Full plan: {md_span(artifact)}." if artifact else "Full plan: run `reconciler plan --format json`."
    )
    tail_note = "\n_{n} more step(s) not shown: the comment is limited to {limit} characters. {pointer}_\n"
    body: list[str] = []
    size = sum(len(x) + 1 for x in head) + len(tail_note) + 200
    steps = plan.ordered()
    shown = 0
    for step in steps:
        block = "\n".join(_step_lines(step, verbose))
        if size + len(block) + 1 > limit:
            break
        body.append(block)
        size += len(block) + 1
        shown += 1
    text = "\n".join(head + body)
    if shown < len(steps):
        text += tail_note.format(n=len(steps) - shown, limit=limit, pointer=pointer)
    else:
        text += f"\n\n{pointer}\n"
    return text


# -- a pull request's plan against its base branch's ---------------------------------------------


def _counts_phrase(plan: Plan) -> str:
    if plan.empty:
        return "no changes"
    c = plan.counts()
    parts = [f"{c[a]:,} to {a}" for a in ("create", "update", "delete") if c[a]]
    if c["job"]:
        parts.append(f"{c['job']:,} job(s)")
    if c["invoke"]:
        parts.append(f"{c['invoke']:,} invocation(s)")
    return ", ".join(parts) + f"; {plural(plan.changed_objects(), 'object')} change"


def render_review_markdown(
    review: PlanReview, artifact: str | None = None, limit: int = MARKDOWN_LIMIT, verbose: bool = False
) -> str:
    """A PR comment: summary first (introduced vs already there), details collapsed, bounded."""
    plan = review.plan
    head = [
        "### reconciler plan",
        "",
        f"**This pull request introduces:** {_counts_phrase(review.introduced)}.",
        "",
        f"**Drift that was already there** (not from this pull request): "
        f"{_counts_phrase(review.preexisting)}.",
        "",
        f"Applying the merged manifests: {summary_line(plan)}",
        "",
        *_plan_notes(plan),
    ]
    if not plan.empty:
        head += [
            "| | create | update | delete | job | invoke | objects |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        rows = (("introduced by this PR", review.introduced), ("already there", review.preexisting))
        for label, part in rows:
            c = part.counts()
            cells = " | ".join(str(c[a]) for a in ACTIONS)
            head.append(f"| {label} | {cells} | {part.changed_objects()} |")
        head.append("")
    head += markdown_warnings([*plan.warnings, *review.warnings])
    if plan.empty:
        return "\n".join(head)
    pointer = (
        f"Full plan: the artifact {md_span(artifact)}."
        if artifact
        else "Full plan: run `reconciler plan --format json`."
    )
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for title, part in ((INTRODUCED_TITLE, review.introduced), (PREEXISTING_TITLE, review.preexisting)):
        blocks = [(f"{s.phase}. {PHASES[s.phase]}", markdown_step_block(s, verbose)) for s in part.ordered()]
        heading = f"#### {title}"
        if title == PREEXISTING_TITLE and blocks:
            heading += f"\n\n_{PREEXISTING_NOTE}_"
        sections.append((heading, blocks))
    return fit_markdown(head, sections, limit=limit, pointer=pointer)


# -- drift -------------------------------------------------------------------------------------------


def render_drift_markdown(
    report: DriftReport, artifact: str | None = None, limit: int = MARKDOWN_LIMIT
) -> str:
    """A PR or issue comment: counts by kind of resource first, then one collapsed block per resource."""
    head = ["### reconciler drift", "", f"**{drift_summary_line(report)}**", ""]
    if report.items:
        table: dict[str, dict[str, int]] = {}
        for item in report.items:
            kind = item.resource.partition("/")[0]
            row = table.setdefault(kind, {"resources": 0, **dict.fromkeys(KINDS, 0)})
            row[item.kind] += 1
        for r in report.by_resource():
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
    head += markdown_warnings(report.warnings)
    if not report.items:
        return "\n".join(head)
    pointer = (
        f"Full report: {md_span(artifact)}."
        if artifact
        else "Full report: run `reconciler drift --format json`."
    )
    sources = report.sources_by_resource()
    blocks = [
        (resource.partition("/")[0], _drift_block(resource, groups, sources.get(resource, [])))
        for resource, groups in report.by_resource().items()
    ]
    return fit_markdown(head, [("", blocks)], limit=limit, pointer=pointer, unit="resource")


def _drift_block(resource: str, groups: dict[str, list[DriftItem]], files: list[str]) -> str:
    counts = ", ".join(group_phrase(label, items) for label, items in groups.items())
    lines = [f"<details><summary>{md_code(resource)}: {md_text(counts)}</summary>", ""]
    if files:
        lines += [f"From {', '.join(md_span(f) for f in files)}.", ""]
    lines += ["| change | field | live (now) | repo (declared) |", "| --- | --- | --- | --- |"]
    for label, items in groups.items():
        for i in items:
            live, declared = shown_values(i)
            lines.append(f"| {md_text(label)} | {_cell(item_where(i))} | {_cell(live)} | {_cell(declared)} |")
    lines += ["", "</details>"]
    return "\n".join(lines)


@dataclass(frozen=True)
class MarkdownRenderer:
    """The markdown format: a pull-request comment (``verbose``: each step's API call too)."""

    verbose: bool = False

    @property
    def prompts(self) -> bool:
        return False

    def plan(self, plan: Plan, *, artifact: str | None = None) -> str:
        return render_markdown(plan, artifact=artifact, verbose=self.verbose)

    def review(self, review: PlanReview, *, artifact: str | None = None) -> str:
        return render_review_markdown(review, artifact=artifact, verbose=self.verbose)

    def drift(self, report: DriftReport, *, artifact: str | None = None) -> str:
        return render_drift_markdown(report, artifact=artifact)

    def saved(self, path: str) -> str:
        return ""

    def error(self, exc: BaseException, base_url: str | None) -> str:
        return ""
