"""The one place where errors become messages and exit codes (``handle_errors``).

Every ``ReconcilerError`` exits with its ``exit_code``; a usage error exits 1, never 2 (which means
only "changes found" or "drift found"). The command's format also prints the error on stdout where
it has a form for it (JSON: one document, schemas/error.schema.json); the lines for a person go to
stderr in every format, every secret masked.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from itertools import pairwise
from typing import Any, NoReturn, TypeVar

import click

from reconciler.errors import ConfigError, Interrupted, ReconcilerError, ValidationFailed
from reconciler.render.failures import capped, describe, hint

F = TypeVar("F", bound=Callable[..., Any])

USAGE_EXIT = 1


def wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (read before click could parse it)."""
    return "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairwise(argv))


def handle_errors(fn: F) -> F:
    """The one place where errors become messages and exit codes (``fail``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            stopped = Interrupted(_interrupted(kwargs))
            echo_error(stopped, kwargs.get("fmt"), kwargs.get("base_url"))  # JSON: the error document
            click.echo(f"\nInterrupted: {stopped} [{Interrupted.code}]", err=True)
            sys.exit(Interrupted.exit_code)
        except Exception as exc:
            if not isinstance(exc, ReconcilerError | OSError) and os.environ.get("RECONCILER_TRACEBACK"):
                raise  # a bug, shown whole on request
            fail(exc, kwargs)

    return wrapper  # type: ignore[return-value]


def _interrupted(kwargs: dict[str, Any]) -> str:
    """What a Ctrl-C outside an apply's writes stopped, and that nothing was written."""
    ctx = click.get_current_context(silent=True)
    name = ctx.info_name if ctx is not None else None
    nothing = "nothing was sent to the API"
    if name == "plan":
        saved = f", no plan was saved to {kwargs['out']}" if kwargs.get("out") else ""
        return f"the plan was not finished{saved}; {nothing} (plan only reads)"
    if name == "drift":
        return f"the drift report was not finished, no report was written; {nothing} (drift only reads)"
    if name == "export":
        return f"the export was not finished; nothing was written to {kwargs.get('out')}: run it again"
    if name in ("apply", "push"):
        return f"before any change was sent ({nothing}); run it again"
    return f"nothing was written and {nothing}"


def fail(exc: BaseException, kwargs: dict[str, Any]) -> NoReturn:
    """End the command for ``exc``: the error in the command's format on stdout (``kwargs``: its
    options), its lines for a person on stderr, and its exit code (1 for an ``OSError`` or a bug)."""
    shown_as = ConfigError(_redacted(exc)) if isinstance(exc, OSError) else exc
    echo_error(shown_as, kwargs.get("fmt"), kwargs.get("base_url"))
    for line in _error_lines(exc, kwargs):
        click.echo(line, err=True)
    sys.exit(exc.exit_code if isinstance(exc, ReconcilerError) else 1)


def echo_error(exc: BaseException, fmt: str | None, base_url: str | None) -> None:
    """``exc`` on stdout in the format ``fmt`` where it has a form for it (JSON: the error document)."""
    from reconciler.render.formats import renderer

    click.echo(renderer(fmt or "text").error(exc, base_url), nl=False)


def _error_lines(exc: BaseException, kwargs: dict[str, Any]) -> list[str]:
    """What stderr says about ``exc``, its code last on its line: every problem (capped) for
    manifests that did not validate, the error's hint where it has one, and never a secret or a
    raw control character."""
    if isinstance(exc, ValidationFailed):
        lines = [_shown(d) for d in exc.diagnostics]
        more = f" ({_lists_every_one(kwargs)} lists every one)"
        return [*capped(lines, more=more), f"Error: {_shown(exc)} [{exc.code}]"]
    if isinstance(exc, ReconcilerError):
        said = f"\nInterrupted: {_shown(exc)}" if isinstance(exc, Interrupted) else None
        said = said or f"Error: {_shown(describe(exc, kwargs.get('base_url')))}"
        has_hint = exc.hint is not None and hint(exc, kwargs.get("base_url")) is None
        return [f"{said} [{exc.code}]", *([f"Hint: {_shown(exc.hint)}"] if has_hint else [])]
    if isinstance(exc, OSError):  # a file that cannot be read or written, a full disk
        return [f"Error: {_redacted(exc)} [{ConfigError.code}]"]
    return [  # a bug: still one clean line (never a secret)
        f"Error: internal error ({type(exc).__name__}: {_redacted(exc)}); please report it "
        "(RECONCILER_TRACEBACK=1 shows the traceback). The apply log holds what was done. [internal]"
    ]


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


def _redacted(exc: BaseException) -> str:
    return _shown(exc)[:500]


def _shown(what: object) -> str:
    """An error as printed: every registered secret masked, invisible characters escaped."""
    from reconciler.render.common import shown

    return shown(what)
