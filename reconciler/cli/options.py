"""What the commands share: the connection options (and the ``Connection`` they make), the apply
log, progress on stderr, colors, and how ``apply`` and ``push`` ask before they write."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler.flows.connect import DEFAULT_LOG, DEFAULT_SIM_LOG, DEFAULT_SIM_STATE, Connection
from reconciler.webex.limiter import DEFAULT_CONCURRENCY
from reconciler.webex.once import DEFAULT_LISTING_LAG_S

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(fn: F) -> F:
    opts = [
        click.option(
            "--base-url",
            envvar="WEBEX_BASE_URL",
            show_envvar=True,
            help="API base URL (default https://webexapis.com/v1).",
        ),
        click.option(
            "--token-file",
            envvar="WEBEX_TOKEN_FILE",
            show_envvar=True,
            type=click.Path(dir_okay=False),
            help="Read the access token from this file (else WEBEX_ACCESS_TOKEN).",
        ),
        click.option(
            "--org-id",
            envvar="WEBEX_ORG_ID",
            show_envvar=True,
            help="Act on this org (partner administrators).",
        ),
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
        "--quiet",
        "-q",
        is_flag=True,
        help="Print only the summary and errors: no progress, no step lines, no warnings.",
    )(fn)


class _OutOption(click.Option):
    """``--out``, short ``-o``; Terraform's ``-out FILE`` (one dash) is accepted too, though not
    shown: otherwise click would read it as ``-o ut``."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        return None if record is None else (record[0].replace("-out, ", ""), record[1])

    def get_error_hint(self, ctx: click.Context | None) -> str:
        return " / ".join(f"'{o}'" for o in self.opts if o != "-out")  # errors name it as help does


def out_option(what: str, *, dir_okay: bool, required: bool = False) -> Callable[[F], F]:
    """``-o/--out``: where ``what`` is written."""
    kind = click.Path(dir_okay=dir_okay, file_okay=not dir_okay)
    return click.option("--out", "-o", "-out", "out", cls=_OutOption, type=kind, required=required, help=what)


def target_option(what: str) -> Callable[[F], F]:
    """``--target KIND/NAME`` (repeatable; the kind in any case), completed from the manifests."""
    from reconciler.cli.helptext import complete_target

    def decorate(fn: F) -> F:
        return click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="KIND/NAME",
            shell_complete=complete_target,
            help=f"{what} (repeatable; e.g. Device/0A1B2C3D4E5F, LineKeyTemplate/'Sales 8851').",
        )(fn)

    return decorate


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


def confirmer(auto_approve: bool, prompts: bool, command: str) -> Callable[[Any], bool]:
    """How ``apply`` / ``push`` ask before sending anything (``prompts``: whether a person reads
    the output; the JSON format is for machines and never asks)."""
    from reconciler.errors import PlanRefused

    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    def confirm(p: Any) -> bool:
        if auto_approve:
            return True
        if not prompts:
            raise PlanRefused(f"{command} --format json does not ask for confirmation: pass --auto-approve")
        if not interactive:
            raise PlanRefused(f"refusing to {command} without a terminal to confirm on: pass --auto-approve")
        from reconciler.cli.prompting import ask

        return ask(f"{command.capitalize()} this plan?")

    return confirm


def say(line: str) -> None:
    """A progress or warning line on stderr (above the progress display, when one is shown)."""
    from reconciler.progress import live

    shown = live()
    if shown is not None:
        shown.print(line)
    else:
        click.echo(line, err=True)


def sayer(quiet: bool) -> Callable[[str], None]:
    """``say``; with ``--quiet``, only what a Ctrl-C is doing (the summary and errors come after)."""
    if not quiet:
        return say

    def quietly(line: str) -> None:
        if line.startswith("Ctrl-C"):
            say(line)

    return quietly


def warn_targeting(targets: tuple[str, ...], quiet: bool) -> None:
    """The "targeting is in effect" warning of a ``--target`` run (not with ``--quiet``)."""
    from reconciler.planning.targets import check_target_kinds, targeting_warning

    check_target_kinds(targets)  # a target that cannot be: its error, and no warning before it
    if targets and not quiet:
        say(targeting_warning(targets))


def notify_token(room: str | None) -> str | None:
    """The bot token --notify-room needs, checked before any work (ConfigError when missing)."""
    if not room:
        return None
    from reconciler.flows.notify import bot_token

    return bot_token(os.environ)
