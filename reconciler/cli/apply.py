"""``apply`` and ``push``: the commands that write to the org, once confirmed."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from reconciler.cli.boundary import handle_errors
from reconciler.cli.helptext import env_epilog
from reconciler.cli.options import (
    confirmer,
    connection_for,
    connection_options,
    lock_timeout_option,
    log_for,
    log_option,
    notify_token,
    quiet_option,
    sayer,
    showing_progress,
    target_option,
    use_color,
    verbose_option,
    warn_targeting,
)
from reconciler.flows.connect import DEFAULT_LOG


@click.command(epilog=env_epilog("apply"))
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--plan", "plan_file", type=click.Path(exists=True, dir_okay=False), help="Apply this saved plan."
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--max-changes", type=click.IntRange(0), help="Refuse a plan changing more objects than this.")
@click.option("--force", is_flag=True, help="Apply even above the safety threshold.")
@target_option("Apply only these")
@click.option(
    "--prune/--no-prune", default=None, help="Delete unmanaged templates and images (default: Policy)."
)
@click.option(
    "--rotate-secrets", is_flag=True, help="Write write-only secrets (sipPassword) even if unchanged."
)
@click.option("--log", "log_path", default=DEFAULT_LOG, show_default=True, help="The apply log (JSON lines).")
@click.option(
    "--resume", "resume", type=click.Path(dir_okay=False), help="Finish the work of this apply log."
)
@lock_timeout_option
@click.option(
    "--notify-room",
    metavar="ROOM_ID",
    help="Post the apply summary to this Webex space (bot token from WEBEX_BOT_TOKEN).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print only the result document (steps, convergence) on stdout; needs --auto-approve.",
)
@verbose_option
@quiet_option
@connection_options
@handle_errors
def apply(
    paths: tuple[str, ...],
    plan_file: str | None,
    auto_approve: bool,
    max_changes: int | None,
    force: bool,
    targets: tuple[str, ...],
    prune: bool | None,
    rotate_secrets: bool,
    log_path: str,
    resume: str | None,
    lock_timeout: float,
    notify_room: str | None,
    fmt: str,
    verbose: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Plan, confirm, execute, and verify that live state converged.

    The first Ctrl-C lets the requests in flight finish and stops; a second one stops at once.
    Either way the apply log keeps what was done, and `apply --resume LOG` finishes it.

    \b
    Examples:
      reconciler apply .                    # shows the plan, asks, applies, checks convergence
      reconciler plan manifests/ -o plan.json && reconciler apply --plan plan.json --auto-approve
      reconciler apply --resume .reconciler/apply-log.jsonl
    """
    from reconciler.flows.apply import ApplyRequest, apply_command
    from reconciler.flows.saved import read_plan
    from reconciler.render.formats import result_renderer

    _refuse_usage(paths, plan_file, resume, rotate_secrets)
    view = result_renderer(fmt, color=use_color(), verbose=verbose)
    bot = notify_token(notify_room)
    saved = read_plan(plan_file) if plan_file else None
    with showing_progress(quiet):  # the Policy's concurrency: loading the manifests comes first
        conn = connection_for(kw, list(paths) or (saved.paths if saved else None))
    confirm = confirmer(auto_approve, view.prompts, "apply")

    log = resume or log_for(log_path, kw)
    request = ApplyRequest(
        *(list(paths), saved, plan_file or "", list(targets), prune, log, bool(resume), max_changes, force),
        rotate_secrets=rotate_secrets,
        room=notify_room,
        bot=bot,
        lock_timeout=lock_timeout,
        resume_command=resume_command(log),
    )
    warn_targeting(targets, quiet or fmt != "text")
    show = previewer(view, silent=quiet and auto_approve)  # nothing to approve: -q prints only the summary
    with showing_progress(quiet):
        outcome = apply_command(conn, request, confirm=confirm, say=sayer(quiet), show=show)
    click.echo(view.applied(outcome), nl=False)
    if not outcome.succeeded:
        sys.exit(1)


def previewer(view: Any, silent: bool) -> Any:
    """What shows the plan before apply asks for approval (``silent``: nothing)."""

    def show(p: Any) -> None:
        if not silent:
            click.echo(view.preview(p), nl=False)

    return show


# What an interrupted apply's resume needs again from this command line (the rest is in the log,
# or in the environment as it was): what to approve and the limits it was allowed past, what it
# was limited to, and how to reach the org.
_RESUME_OPTIONS = (
    "auto_approve",
    "force",
    "max_changes",
    "targets",
    "prune",
    "simulate",
    "sim_state",
    "base_url",
    "token_file",
    "org_id",
)
_FLAGS = {"targets": "--target"}


def resume_command(log: str) -> str:
    """``reconciler apply --resume LOG`` with the options of this command line that the resumed
    apply needs again (``--auto-approve``, ``--force``, ``--target``, the connection)."""
    ctx = click.get_current_context()
    argv = ["reconciler", "apply", "--resume", log]
    for name in _RESUME_OPTIONS:
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.COMMANDLINE:
            continue
        flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
        value = ctx.params.get(name)
        if isinstance(value, tuple):
            argv += [part for item in value for part in (flag, str(item))]
        elif isinstance(value, bool):
            argv += [flag] if value else ["--no-" + flag[2:]]
        else:
            argv += [flag, str(value)]
    return shlex.join(argv)


def _refuse_usage(paths: tuple[str, ...], plan_file: str | None, resume: str | None, rotate: bool) -> None:
    """What to apply: manifest PATHs, a saved plan or an apply log to resume, and no secret rotation
    beside a saved plan (it says which secrets it writes)."""
    if not paths and not plan_file and not resume:
        raise click.UsageError("give manifest PATHs, --plan PLAN or --resume LOG")
    if plan_file and paths:
        raise click.UsageError("give either PATHs or --plan, not both")
    if plan_file and rotate:
        raise click.UsageError(
            "a saved plan already says which secrets it writes: plan --rotate-secrets --out"
        )


@click.command(epilog=env_epilog("push"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--location", "locations", multiple=True, metavar="NAME", help="Only this location's devices.")
@target_option("Only devices these manifests manage")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@lock_timeout_option
@log_option
@verbose_option
@quiet_option
@connection_options
@handle_errors
def push(
    paths: tuple[str, ...],
    locations: tuple[str, ...],
    targets: tuple[str, ...],
    auto_approve: bool,
    lock_timeout: float,
    log_path: str,
    verbose: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Tell the phones to download what an earlier apply wrote and did not push.

    Pushes held by a Policy (push: never) for a maintenance window, or left by an interrupted
    apply, are read from the apply log, checked against the manifests, shown, and sent.

    \b
    Example:
      reconciler push manifests/ --location "Branch Office" --auto-approve
    """
    from reconciler.flows.push import PushRequest, push_command
    from reconciler.render.text import TextRenderer, report_text

    view = TextRenderer(color=use_color(), verbose=verbose)  # push speaks to a person only

    def show(p: Any) -> None:
        click.echo(view.plan(p), nl=False)

    request = PushRequest(list(paths), list(locations), list(targets), log_for(log_path, kw), lock_timeout)
    with showing_progress(quiet):
        conn = connection_for(kw, list(paths))
        confirm = confirmer(auto_approve, view.prompts, "push")
        outcome = push_command(conn, request, confirm=confirm, say=sayer(quiet), show=show)
    if outcome is None:
        click.echo(f"Nothing to push: {log_path} owes no push.")
        return
    click.echo(report_text(outcome.report, "Push"), nl=False)
    if not outcome.succeeded:
        sys.exit(1)
