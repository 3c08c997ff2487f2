"""The ``reconciler`` command group: each command parses its options, makes one call into
``reconciler.flows``, renders the result with its format's renderer and picks the exit code. Errors
map to exit codes in one place (``reconciler.cli.boundary``)."""

from __future__ import annotations

import sys

try:  # a Ctrl-C while the program is still loading: nothing was done yet, so no traceback
    from typing import Any

    import click

    from reconciler import __version__
    from reconciler.cli.apply import apply, push
    from reconciler.cli.boundary import USAGE_EXIT, echo_error, wants_json
    from reconciler.cli.helptext import MAIN_EPILOG
    from reconciler.cli.org import explain, export
    from reconciler.cli.plan import drift, plan, show, validate
    from reconciler.cli.sim import demo, sim
    from reconciler.errors import ConfigError
    from reconciler.model import API_VERSION
    from reconciler.planning.plan import FORMAT_VERSION as PLAN_FORMAT_VERSION
except KeyboardInterrupt:
    sys.stderr.write("Interrupted while starting; nothing was done.\n")
    raise SystemExit(130) from None


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
            if wants_json(argv):
                echo_error(ConfigError(exc.format_message()), "json", None)
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


# `reconciler --version`: the release, and the versions of what it reads and writes: saved plans and
# `plan --format json` (format_version), manifests (apiVersion). CHANGELOG.md says when each changed.
VERSION_MESSAGE = f"%(prog)s %(version)s (plan format {PLAN_FORMAT_VERSION}, manifest schema {API_VERSION})"


@click.group(
    cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=MAIN_EPILOG
)
@click.version_option(__version__, prog_name="reconciler", message=VERSION_MESSAGE)
def main() -> None:
    """Declarative plan/apply for Webex Calling device configuration.

    Keep YAML manifests in git; `plan` shows what differs from the live org, `apply` makes it so.
    """


for _command in (validate, plan, show, drift, apply, explain, export, push, demo, sim):
    main.add_command(_command)


def console() -> None:
    """The ``reconciler`` command: the CLI, with the process tuned for a run (``runtime``)."""
    from reconciler import runtime

    runtime.tune()
    try:
        main()
    except SystemExit as done:
        if isinstance(done.code, int) or done.code is None:
            runtime.leave(done.code or 0)
        raise
