"""click commands: parse, one core call, render, exit code. Errors map to exit codes here only."""

from __future__ import annotations

import sys

try:  # a Ctrl-C while the program is still loading: nothing was done yet, so no traceback
    import functools
    import logging
    import os
    from collections.abc import Callable
    from itertools import pairwise
    from typing import Any, TypeVar

    import click

    from reconciler import __version__
    from reconciler.errors import ConfigError, Interrupted, ReconcilerError, ValidationFailed
    from reconciler.flows.connect import DEFAULT_LOG, DEFAULT_SIM_LOG, DEFAULT_SIM_STATE, Connection, run
    from reconciler.model import API_VERSION
    from reconciler.planning.plan import FORMAT_VERSION as PLAN_FORMAT_VERSION
    from reconciler.render.failures import capped, describe, error_document
    from reconciler.webex.limiter import DEFAULT_CONCURRENCY
    from reconciler.webex.once import DEFAULT_LISTING_LAG_S
except KeyboardInterrupt:
    sys.stderr.write("Interrupted while starting; nothing was done.\n")
    raise SystemExit(130) from None

F = TypeVar("F", bound=Callable[..., Any])


class ReconcilerGroup(click.Group):
    """The command group whose ``main`` maps click's own errors to exit codes: a usage error
    (an unknown option, command or a missing argument) exits 1 like any invalid input, never 2,
    which means "changes found" (plan --detailed-exitcode) or "drift found" (drift) only."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        run_group: Any = super().main  # click types main() by standalone_mode overloads
        if not kwargs.pop("standalone_mode", True):
            return run_group(*args, standalone_mode=False, **kwargs)
        argv = list(args[0] if args and args[0] is not None else kwargs.get("args") or sys.argv[1:])
        try:
            rv = run_group(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            if _wants_json(argv):
                _echo_error_document(ConfigError(exc.format_message()), None)
            # one line: what is wrong, and where the options are explained
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            message = " ".join(exc.format_message().split())
            click.echo(f"Error: {message}{where}", err=True)
            sys.exit(USAGE_EXIT)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # --help and --version end here (click returns their exit code instead of exiting)
        sys.exit(rv if isinstance(rv, int) else 0)


USAGE_EXIT = 1
SIM_MAX_DEVICES = 1_000_000  # a generated org larger than this is a usage error, not hours of work


def _wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (read before click could parse it)."""
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairwise(argv))


def handle_errors(fn: F) -> F:
    """The one place where errors become messages and exit codes. With ``--format json`` the
    error is also printed on stdout as one JSON document (schemas/error.schema.json)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = kwargs.get("fmt") == "json"
        base_url = kwargs.get("base_url")
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            if as_json:
                _echo_error_document(exc, base_url)
            lines = [_shown(d) for d in exc.diagnostics]
            for line in capped(lines, more=f" ({_lists_every_one(kwargs)} lists every one)"):
                click.echo(line, err=True)
            click.echo(f"Error: {_shown(exc)}", err=True)
            sys.exit(exc.exit_code)
        except Interrupted as exc:
            if as_json:
                _echo_error_document(exc, base_url)
            click.echo(f"\nInterrupted: {_shown(exc)}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nInterrupted. The apply log holds what was done; re-run to finish.", err=True)
            sys.exit(130)
        except ReconcilerError as exc:
            if as_json:
                _echo_error_document(exc, base_url)
            click.echo(f"Error: {_shown(describe(exc, base_url))}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException:
            raise
        except OSError as exc:  # a file that cannot be read or written, a full disk
            if as_json:
                _echo_error_document(ConfigError(_redacted(exc)), base_url)
            click.echo(f"Error: {_redacted(exc)}", err=True)
            sys.exit(1)
        except Exception as exc:  # a bug: still one clean line (never a secret), exit 1
            if os.environ.get("RECONCILER_TRACEBACK"):
                raise
            if as_json:
                _echo_error_document(exc, base_url)
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {_redacted(exc)}); please report it "
                "(RECONCILER_TRACEBACK=1 shows the traceback). The apply log holds what was done.",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _lists_every_one(kwargs: dict[str, Any]) -> str:
    """The command that prints every problem of this run as JSON: this command with ``--format
    json`` where it has one and has no side effect, else ``plan`` (which makes every check
    ``validate`` makes, and those that need live state)."""
    ctx = click.get_current_context(silent=True)
    name = ctx.info_name if ctx is not None else None
    given = list(kwargs.get("paths") or ())
    if name == "explain":
        given = [a for a in kwargs.get("args") or () if os.path.exists(a)] or ["."]
    paths = " ".join(_quoted(p) for p in given) or "PATH"
    if name in ("validate", "drift"):
        return f"reconciler {name} {paths} --format json"
    return f"reconciler plan {paths} --format json"


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(str(text))


def _echo_error_document(exc: BaseException, base_url: str | None) -> None:
    import json

    from reconciler.webex.redact import redact

    # masked as the text output is: an API error may echo a secret value back
    click.echo(redact(json.dumps(error_document(exc, base_url), indent=2, ensure_ascii=False)))


def _redacted(exc: BaseException) -> str:
    return _shown(exc)[:500]


def _shown(what: object) -> str:
    """An error as printed: every registered secret masked, each line's invisible characters
    escaped (a CR in a token or a name cannot rewrite the terminal line)."""
    from reconciler.textsafe import visible
    from reconciler.webex.redact import redact

    return "\n".join(visible(line) for line in redact(str(what)).split("\n"))


def connection_options(fn: F) -> F:
    opts = [
        click.option(
            "--base-url", envvar="WEBEX_BASE_URL", help="API base URL (default https://webexapis.com/v1)."
        ),
        click.option(
            "--token-file", type=click.Path(dir_okay=False), help="Read the access token from this file."
        ),
        click.option("--org-id", help="Act on this org (partner administrators)."),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 128),
            default=DEFAULT_CONCURRENCY,
            show_default=True,
            help="Requests in flight at most.",
        ),
        click.option(
            "--simulate", is_flag=True, help="Use an embedded simulator of the demo org (no token)."
        ),
        click.option(
            "--sim-state",
            default=DEFAULT_SIM_STATE,
            show_default=True,
            help="Where --simulate keeps the simulated org between runs.",
        ),
        click.option("--debug", is_flag=True, help="Log every request (never the token) to stderr."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.05, max=3600),
            default=30.0,
            show_default=True,
            help="Seconds to wait for each API answer (then retried where that is safe).",
        ),
        click.option(
            "--listing-lag",
            type=click.FloatRange(min=0, max=600),
            default=DEFAULT_LISTING_LAG_S,
            show_default=True,
            help="After a job start or create whose answer was lost: seconds to look for it in the "
            "API's listings (which show new objects late) before sending it again.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def quiet_option(fn: F) -> F:
    return click.option(
        "--quiet", "-q", is_flag=True, help="No progress on stderr (shown only when stderr is a terminal)."
    )(fn)


def _confirmer(auto_approve: bool, fmt: str, command: str) -> Callable[[Any], bool]:
    """How ``apply`` / ``push`` ask before sending anything."""
    from reconciler.errors import PlanRefused

    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    def confirm(p: Any) -> bool:
        if auto_approve:
            return True
        if fmt == "json":
            raise PlanRefused(f"{command} --format json does not ask for confirmation: pass --auto-approve")
        if not interactive:
            raise PlanRefused(f"refusing to {command} without a terminal to confirm on: pass --auto-approve")
        return click.confirm(f"{command.capitalize()} this plan?", default=False)

    return confirm


def _say(line: str) -> None:
    """A progress or warning line on stderr (above the progress display, when one is shown)."""
    from reconciler.progress import live

    shown = live()
    if shown is not None:
        shown.print(line)
    else:
        click.echo(line, err=True)


def _echo_report(report: Any, what: str) -> None:
    """``Apply: 3 applied, 1 failed, 0 skipped.`` and each failed or skipped step."""
    applied, failed, skipped = (report.by_status(s) for s in ("applied", "failed", "skipped"))
    click.echo(f"\n{what}: {len(applied)} applied, {len(failed)} failed, {len(skipped)} skipped.")
    lines = []
    for r in failed:
        lines.append(
            f"  failed  {r.step}: {r.message}"
            + (f" [trackingId {r.tracking_id}]" if r.tracking_id and r.tracking_id not in r.message else "")
        )
        lines.extend(f"          {line}" for line in capped(r.job_errors))
    lines.extend(f"  skipped {r.step}: {r.message}" for r in skipped)
    for line in capped(lines, more=" (apply --format json lists every one)"):
        click.echo(_shown(line))  # masked, and no raw control character from an API message


def lock_timeout_option(fn: F) -> F:
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=0.0,
        show_default=True,
        metavar="SECONDS",
        help="Wait this long for another apply of the same org to finish (0: refuse at once).",
    )(fn)


def log_for(log_path: str, kw: dict[str, Any]) -> str:
    """The apply log to use: ``--simulate`` without ``--log`` keeps the simulator's own."""
    return DEFAULT_SIM_LOG if kw.get("simulate") and log_path == DEFAULT_LOG else log_path


def log_option(fn: F) -> F:
    return click.option(
        "--log",
        "log_path",
        default=DEFAULT_LOG,
        show_default=True,
        help="The apply log: its pending pushes (written, not yet pushed) are plan steps.",
    )(fn)


def verbose_option(fn: F) -> F:
    return click.option("--verbose", "-v", is_flag=True, help="Also show each step's API call.")(fn)


def showing_progress(quiet: bool) -> Any:
    """Progress on stderr while the block runs, when stderr is a terminal and not ``--quiet``."""
    from reconciler.progress import reporting, wanted

    return reporting(wanted(quiet))


def connection_for(kw: dict[str, Any], paths: list[str] | None) -> Connection:
    """``make_connection``; without ``--concurrency`` on the command line, the Policy in ``paths``
    (if any) sets how many requests are in flight."""
    conn = make_connection(kw)
    ctx = click.get_current_context(silent=True)
    given = ctx is not None and ctx.get_parameter_source("concurrency") not in (
        None,
        click.core.ParameterSource.DEFAULT,
    )
    if paths and not given:
        from reconciler.flows.load import policy_concurrency

        conn.concurrency = policy_concurrency(paths) or conn.concurrency
    return conn


def make_connection(kw: dict[str, Any]) -> Connection:
    if kw.get("debug"):
        from reconciler.webex.redact import redaction_filter

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(redaction_filter())
        logging.basicConfig(level=logging.DEBUG, handlers=[handler])
        # one line per request comes from the client; the HTTP libraries' internals are noise
        for noisy in ("httpcore", "httpx", "hpack", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    return Connection(
        base_url=kw.get("base_url"),
        token_file=kw.get("token_file"),
        org_id=kw.get("org_id"),
        concurrency=kw.get("concurrency") or DEFAULT_CONCURRENCY,
        simulate=bool(kw.get("simulate")),
        sim_state=kw.get("sim_state") or DEFAULT_SIM_STATE,
        debug=bool(kw.get("debug")),
        timeout=float(kw.get("timeout") or 30.0),
        listing_lag=float(kw.get("listing_lag", DEFAULT_LISTING_LAG_S)),
    )


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


# `reconciler --version`: the release, and the versions of what it reads and writes: saved plans and
# `plan --format json` (format_version), manifests (apiVersion). CHANGELOG.md says when each changed.
VERSION_MESSAGE = f"%(prog)s %(version)s (plan format {PLAN_FORMAT_VERSION}, manifest schema {API_VERSION})"


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler", message=VERSION_MESSAGE)
def main() -> None:
    """Declarative plan/apply for Webex Calling device configuration."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check manifests offline: YAML, schemas and semantic rules."""
    from reconciler.validation.validate import render_validation, validate_paths

    result = validate_paths(list(paths))
    click.echo(render_validation(result, fmt), nl=False)
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan (JSON) for apply --plan.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when none.")
@click.option("--target", "targets", multiple=True, metavar="KIND/NAME", help="Plan only these (repeatable).")
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
    """Show what apply would change.

    \b
    Example:
      reconciler plan manifests/ --out plan.json --detailed-exitcode
    """
    from reconciler.flows.plan import PlanRequest, plan_command
    from reconciler.flows.saved import save_plan
    from reconciler.planning.review import PlanReview
    from reconciler.render import render, render_review

    log_path = log_for(log_path, kw)
    request = PlanRequest(list(paths), list(targets), prune, rotate_secrets, baseline, changed_only, log_path)
    with showing_progress(quiet):  # from the first second: loading the manifests comes first
        result = plan_command(connection_for(kw, list(paths)), request)
    if isinstance(result, PlanReview):
        review, result = result, result.plan
        if out:
            save_plan(result, out)
            with open(out, "w", encoding="utf-8") as fh:  # the plan plus its additive baseline section
                fh.write(render_review(review, "json"))
        click.echo(render_review(review, fmt, color=use_color(), artifact=out, verbose=verbose), nl=False)
    else:
        if out:
            save_plan(result, out)
        click.echo(render(result, fmt, color=use_color(), artifact=out, verbose=verbose), nl=False)
    if out and fmt == "text":
        click.echo(f"Saved the plan to {out}. Apply exactly it with: reconciler apply --plan {out}")
    if detailed_exitcode and not result.empty:
        sys.exit(2)


@main.command()
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
    from reconciler.render import render

    plan = read_plan(plan_file, check_paths=False)  # rendered only: its paths are not read
    click.echo(render(plan, fmt, color=use_color(), artifact=plan_file, verbose=verbose), nl=False)


@main.command()
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
    from reconciler.render import render_drift

    bot = _notify_token(notify_room)
    with showing_progress(quiet):
        conn = connection_for(kw, list(paths))
        found, problem = drift_command(conn, list(paths), notify_room, bot, log_for(log_path, kw))
    kinds = {r: _REPORT_FORMATS.get(os.path.splitext(r)[1].lower(), fmt) for r in reports}
    full = next((r for r, k in kinds.items() if k == "json"), None)
    for path, kind in kinds.items():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(render_drift(found, kind, artifact=full))
    click.echo(render_drift(found, fmt, color=use_color(), artifact=full), nl=False)
    if problem:
        click.echo(f"Warning: {problem}", err=True)
    sys.exit(2 if found.has_drift else 0)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--plan", "plan_file", type=click.Path(exists=True, dir_okay=False), help="Apply this saved plan."
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--max-changes", type=click.IntRange(0), help="Refuse a plan changing more objects than this.")
@click.option("--force", is_flag=True, help="Apply even above the safety threshold.")
@click.option(
    "--target", "targets", multiple=True, metavar="KIND/NAME", help="Apply only these (repeatable)."
)
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

    \b
    Example:
      reconciler plan manifests/ --out plan.json && reconciler apply --plan plan.json --auto-approve
    """
    from reconciler.flows.apply import ApplyRequest, apply_command
    from reconciler.flows.saved import read_plan
    from reconciler.render import render_text

    if not paths and not plan_file and not resume:
        raise click.UsageError("give manifest PATHs, --plan PLAN or --resume LOG")
    if plan_file and paths:
        raise click.UsageError("give either PATHs or --plan, not both")
    if plan_file and rotate_secrets:
        raise click.UsageError(
            "a saved plan already says which secrets it writes: plan --rotate-secrets --out"
        )
    bot = _notify_token(notify_room)
    saved = read_plan(plan_file) if plan_file else None
    with showing_progress(quiet):  # the Policy's concurrency: loading the manifests comes first
        conn = connection_for(kw, list(paths) or (saved.paths if saved else None))
    confirm = _confirmer(auto_approve, fmt, "apply")

    def show(p: Any) -> None:
        if fmt == "text":
            click.echo(render_text(p, color=use_color(), verbose=verbose), nl=False)

    request = ApplyRequest(
        paths=list(paths),
        saved=saved,
        plan_file=plan_file or "",
        targets=list(targets),
        prune=prune,
        log_path=resume or log_for(log_path, kw),
        resume=bool(resume),
        max_changes=max_changes,
        force=force,
        rotate_secrets=rotate_secrets,
        room=notify_room,
        bot=bot,
        lock_timeout=lock_timeout,
    )
    with showing_progress(quiet):
        outcome = apply_command(conn, request, confirm=confirm, say=_say, show=show)
    report = outcome.report
    if fmt == "json":
        from reconciler.render.jsonfmt import render_apply_json

        click.echo(render_apply_json(outcome), nl=False)
        sys.exit(0 if outcome.succeeded else 1)
    if outcome.plan.empty and not report.results:
        click.echo("Nothing to apply.")
        return
    _echo_report(report, "Apply")
    if outcome.remaining is not None:
        if outcome.remaining.empty:
            click.echo("Converged: live state matches the manifests.")
        else:
            click.echo("Not converged; still different:")
            click.echo(render_text(outcome.remaining), nl=False)
    if not outcome.succeeded:
        sys.exit(1)


@main.command()
@click.argument("args", nargs=-1, required=True, metavar="Device/MAC [PATH]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@quiet_option
@connection_options
@handle_errors
def explain(args: tuple[str, ...], fmt: str, quiet: bool, **kw: Any) -> None:
    """Why one device has each value: its settings, members and layout, each with its source
    (device, location, org, a template through an assignment, the API's default) and the manifest
    file:line that sets it. PATHs default to the current directory.

    \b
    Example:
      reconciler explain Device/0A:1B:2C:3D:4E:04 examples/ --simulate
    """
    from reconciler.flows.explain import explain_command
    from reconciler.render.explain import render_explain

    address, paths = _address_and_paths(args)
    with showing_progress(quiet):
        doc = explain_command(connection_for(kw, paths), paths, address)
    click.echo(render_explain(doc, fmt, color=use_color()), nl=False)


def _address_and_paths(args: tuple[str, ...]) -> tuple[str, list[str]]:
    """``Device/MAC`` (or a bare MAC) and the manifest paths, in either order."""
    from reconciler.model import normalize_mac

    def is_address(a: str) -> bool:
        return not os.path.exists(a) and (a.lower().startswith("device/") or normalize_mac(a) is not None)

    addresses = [a for a in args if is_address(a)]
    if len(addresses) != 1:
        raise click.UsageError("name one device: Device/MAC, e.g. Device/0A:1B:2C:3D:4E:01")
    paths = [a for a in args if a != addresses[0]] or ["."]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise click.UsageError(f"Path {missing[0]!r} does not exist.")
    return addresses[0], paths


@main.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Write manifests here.")
@click.option("--location", "locations", multiple=True, help="Only this location (repeatable).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    help="Only this kind (repeatable); PersonDevices and WorkspaceDevices only when named.",
)
@click.option("--mac", "macs", multiple=True, help="Only this device (repeatable).")
@click.option(
    "--all-fields",
    is_flag=True,
    help="In files that exist already, write every live setting too, not only those the file declares.",
)
@quiet_option
@connection_options
@handle_errors
def export(
    out: str,
    locations: tuple[str, ...],
    kinds: tuple[str, ...],
    macs: tuple[str, ...],
    all_fields: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Write manifests for the live org (a repo that plans zero changes).

    \b
    Example:
      reconciler export --out manifests/ --location "Branch Office"
    """
    from reconciler.flows.export import export_org
    from reconciler.progress import task

    conn = make_connection(kw)

    async def go() -> Any:
        with task("reading devices", total=None) as shown:

            def progress(done: int, total: int) -> None:
                shown.update(completed=done, total=total)

            return await export_org(conn, out, locations, kinds, macs, progress, all_fields)

    with showing_progress(quiet):
        report = run(go())
    for w in report.warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo(
        f"Exported to {out}: {report.written} new, {report.updated} updated, {report.unchanged} unchanged "
        f"file(s); {report.devices} device(s)."
    )


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--location", "locations", multiple=True, metavar="NAME", help="Only this location's devices.")
@click.option(
    "--target", "targets", multiple=True, metavar="KIND/NAME", help="Only devices these manifests manage."
)
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
    from reconciler.render import render_text

    def show(p: Any) -> None:
        click.echo(render_text(p, color=use_color(), verbose=verbose), nl=False)

    request = PushRequest(list(paths), list(locations), list(targets), log_for(log_path, kw), lock_timeout)
    with showing_progress(quiet):
        conn = connection_for(kw, list(paths))
        confirm = _confirmer(auto_approve, "text", "push")
        outcome = push_command(conn, request, confirm=confirm, say=_say, show=show)
    if outcome is None:
        click.echo(f"Nothing to push: {log_path} owes no push.")
        return
    _echo_report(outcome.report, "Push")
    if not outcome.succeeded:
        sys.exit(1)


@main.command()
@click.option("--keep-state", type=click.Path(dir_okay=False), help="Keep the demo org in this file.")
@handle_errors
def demo(keep_state: str | None) -> None:
    """The whole story on an embedded simulator: validate, plan, apply, plan, drift."""
    from reconciler.flows.demo import run_demo

    ok = run(run_demo(click.echo, state_file=keep_state, color=use_color()))
    if not ok:
        sys.exit(1)


@main.group()
def sim() -> None:
    """The Webex API simulator."""


class FiniteFloat(click.FloatRange):
    """A ``FloatRange`` that also refuses NaN and infinities (a usage error, like any bad value)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@sim.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option("--seed", default="demo", show_default=True, help="'demo' or a number for a generated org.")
@click.option(
    "--devices",
    type=click.IntRange(0, SIM_MAX_DEVICES),
    help="Devices of a generated org (with a numeric --seed).",
)
@click.option(
    "--latency-ms",
    type=FiniteFloat(0, 600_000),
    default=0,
    show_default=True,
    help="Delay added to every answer (ms).",
)
@click.option(
    "--rate-limit", type=FiniteFloat(0, min_open=True), help="Requests per second before 429 (above 0)."
)
@click.option(
    "--listing-lag",
    "sim_listing_lag",
    type=FiniteFloat(0, 3600),
    default=0,
    show_default=True,
    help="Seconds before a new job, template or image shows in its listing (as the real API lags).",
)
@click.option(
    "--error-rate",
    type=FiniteFloat(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a simulated 5xx (0 to 1).",
)
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Persist the org in this file.")
@click.option("--token", envvar="RECONCILER_SIM_TOKEN", help="Accept only this token (default: any).")
@handle_errors
def sim_serve(
    host: str,
    port: int,
    seed: str,
    devices: int | None,
    latency_ms: float,
    rate_limit: float | None,
    sim_listing_lag: float,
    error_rate: float,
    state_file: str | None,
    token: str | None,
) -> None:
    """Serve the simulator over HTTP (uvicorn)."""
    from reconciler.flows.connect import check_sim_state
    from reconciler.sim.server import check_port, serve

    seed_value = _sim_seed(seed, devices)
    if state_file:
        check_sim_state(state_file)
    try:
        check_port(host, port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; another server may be using it: "
            "pick another with --port"
        ) from exc
    click.echo(f"Simulated Webex API on http://{host}:{port}/v1 (seed {seed})", err=True)
    serve(
        host=host,
        port=port,
        seed=seed_value,
        devices=devices,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        error_rate=error_rate,
        state_file=state_file,
        token=token,
        listing_lag_s=sim_listing_lag,
    )


def _sim_seed(seed: str, devices: int | None) -> str | int:
    """``--seed``: 'demo' or a number; ``--devices`` sizes generated orgs only."""
    if seed == "demo":
        if devices is not None:
            raise ConfigError("--devices sizes a generated org: give a numeric --seed too (e.g. --seed 1)")
        return seed
    try:
        return int(seed)
    except ValueError:
        raise ConfigError(f"--seed must be 'demo' or a number, not {seed!r}") from None


_REPORT_FORMATS = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".log": "text",
}


def _notify_token(room: str | None) -> str | None:
    """The bot token --notify-room needs, checked before any work (ConfigError when missing)."""
    if not room:
        return None
    from reconciler.flows.notify import bot_token

    return bot_token(os.environ)


def console() -> None:
    """The ``reconciler`` command: the CLI, with the process tuned for a run (``runtime``)."""
    from reconciler import runtime
    runtime.tune()
    main()


if __name__ == "__main__":  # pragma: no cover
    console()
