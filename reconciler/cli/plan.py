"""``validate``, ``plan``, ``show`` and ``drift``: what the manifests say and what would change."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from reconciler.cli.boundary import handle_errors
from reconciler.cli.helptext import env_epilog
from reconciler.cli.options import (
    connection_for,
    connection_options,
    log_for,
    log_option,
    notify_token,
    out_option,
    quiet_option,
    showing_progress,
    target_option,
    use_color,
    verbose_option,
    warn_targeting,
)


@click.command(epilog=env_epilog("validate"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check manifests offline: YAML, schemas and semantic rules (no token, no API call).

    \b
    Example:
      reconciler validate .                 # every problem as file:line:col, exit 1 if any
    """
    from reconciler import runtime
    from reconciler.render.formats import result_renderer
    from reconciler.validation.validate import validate_paths

    with runtime.loading():
        result = validate_paths(list(paths))
    click.echo(result_renderer(fmt).validation(result), nl=False)
    if not result.ok:
        sys.exit(1)


@click.command(epilog=env_epilog("plan"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@out_option("Save the plan (JSON) for apply --plan.", dir_okay=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when none.")
@target_option("Plan only these")
@click.option(
    "--prune/--no-prune", default=None, help="Delete unmanaged templates and images (default: Policy)."
)
@click.option(
    "--rotate-secrets", is_flag=True, help="Write write-only secrets (sipPassword) even if unchanged."
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, file_okay=False),
    help="The base branch's checkout (e.g. a git worktree): show the changes the PATHs introduce "
    "apart from drift that was already there.",
)
@click.option(
    "--changed-only",
    is_flag=True,
    help="With --baseline: plan only the objects whose manifests differ from the baseline, and what "
    "depends on them (fast pull-request plans; drift elsewhere is not shown).",
)
@log_option
@verbose_option
@quiet_option
@connection_options
@handle_errors
def plan(
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    prune: bool | None,
    rotate_secrets: bool,
    baseline: str | None,
    changed_only: bool,
    log_path: str,
    verbose: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Show what apply would change (reads live state; writes nothing to the API).

    \b
    Examples:
      reconciler plan .                     # against WEBEX_BASE_URL with WEBEX_ACCESS_TOKEN
      reconciler plan . --simulate          # against an embedded simulator of the demo org
      reconciler plan manifests/ -o plan.json --detailed-exitcode
    """
    from reconciler.flows.plan import PlanRequest, plan_command
    from reconciler.flows.saved import save_plan
    from reconciler.planning.review import PlanReview
    from reconciler.render.formats import renderer
    from reconciler.render.jsonfmt import JsonRenderer
    from reconciler.validation.parse_cache import remembering

    view = renderer(fmt, color=use_color(), verbose=verbose)
    log_path = log_for(log_path, kw)
    request = PlanRequest(list(paths), list(targets), prune, rotate_secrets, baseline, changed_only, log_path)
    warn_targeting(targets, quiet or fmt != "text")
    # a changed-only plan compares the baseline with the texts its loads read: they remember them
    with showing_progress(quiet), remembering(changed_only):
        result = plan_command(connection_for(kw, list(paths)), request)
    brief = quiet and fmt == "text"  # -q: the summary line only (errors go to stderr)
    if isinstance(result, PlanReview):
        review, result = result, result.plan
        if out:  # the plan plus its additive baseline section
            save_plan(result, out, json.loads(JsonRenderer().review(review)))
        click.echo(summary_text(result) if brief else view.review(review, artifact=out), nl=False)
    else:
        if out:
            save_plan(result, out)
        click.echo(summary_text(result) if brief else view.plan(result, artifact=out), nl=False)
    if out:
        click.echo(view.saved(out), nl=False)
    if detailed_exitcode and not result.empty:
        sys.exit(2)


@click.command(epilog=env_epilog("show"))
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@verbose_option
@handle_errors
def show(plan_file: str, fmt: str, verbose: bool) -> None:
    """Render a saved plan (plan --out) without applying it or touching the API.

    \b
    Example:
      reconciler show plan.json --format markdown
    """
    from reconciler.flows.saved import read_plan
    from reconciler.render.formats import renderer

    plan = read_plan(plan_file, check_paths=False)  # rendered only: its paths are not read
    view = renderer(fmt, color=use_color(), verbose=verbose)
    click.echo(view.plan(plan, artifact=plan_file), nl=False)


@click.command(epilog=env_epilog("drift"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Also write the report to FILE (repeatable): .json JSON, .md markdown, .txt text, else --format.",
)
@click.option(
    "--notify-room",
    metavar="ROOM_ID",
    help="Post a drift summary to this Webex space when there is drift (bot token: WEBEX_BOT_TOKEN).",
)
@log_option
@quiet_option
@connection_options
@handle_errors
def drift(
    paths: tuple[str, ...],
    fmt: str,
    reports: tuple[str, ...],
    notify_room: str | None,
    log_path: str,
    quiet: bool,
    **kw: Any,
) -> None:
    """Report every difference between the manifests and live state (exit 2 when there is any).

    \b
    Example:
      reconciler drift manifests/ --format json --report drift.md
    """
    from reconciler.flows.drift import drift_command
    from reconciler.render.formats import renderer

    bot = notify_token(notify_room)
    with showing_progress(quiet):
        conn = connection_for(kw, list(paths))
        found, problem = drift_command(conn, list(paths), notify_room, bot, log_for(log_path, kw))
    kinds = {r: _REPORT_FORMATS.get(os.path.splitext(r)[1].lower(), fmt) for r in reports}
    full = next((r for r, k in kinds.items() if k == FULL_REPORT), None)
    for path, kind in kinds.items():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(renderer(kind).drift(found, artifact=full))
    if quiet and fmt == "text":  # -q: the summary line only
        click.echo(summary_text(found), nl=False)
    else:
        click.echo(renderer(fmt, color=use_color()).drift(found, artifact=full), nl=False)
    if problem:
        click.echo(f"Warning: {problem}", err=True)
    sys.exit(2 if found.has_drift else 0)


def summary_text(result: Any) -> str:
    """What ``-q`` prints of a plan or a drift report: its summary line, folded."""
    from reconciler.planning.plan import Plan
    from reconciler.render.common import drift_summary_line, summary_line
    from reconciler.render.fold import fit

    line = summary_line(result) if isinstance(result, Plan) else drift_summary_line(result)
    return "\n".join(fit(line)) + "\n"


# --report FILE: the format by the file's extension (else --format); the JSON one holds everything
FULL_REPORT = "json"
_REPORT_FORMATS = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".log": "text",
}
