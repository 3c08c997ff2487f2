"""``demo`` and ``sim serve``: the embedded simulator, telling the whole story or serving the API."""

from __future__ import annotations

import sys
from typing import Any

import click

from reconciler.cli.boundary import handle_errors
from reconciler.cli.helptext import SIM_ENV, SIM_SERVE_ENV, env_epilog
from reconciler.cli.options import use_color
from reconciler.errors import ConfigError
from reconciler.flows.connect import run

SIM_MAX_DEVICES = 1_000_000  # a generated org larger than this is a usage error, not hours of work


@click.command(epilog=env_epilog("demo"))
@click.option("--keep-state", type=click.Path(dir_okay=False), help="Keep the demo org in this file.")
@handle_errors
def demo(keep_state: str | None) -> None:
    """The whole story on an embedded simulator: validate, plan, apply, plan, drift.

    It runs the examples shipped with the package, in a temporary directory it removes
    afterwards: nothing is written where you run it.

    \b
    Example:
      reconciler demo
    """
    from reconciler.flows.demo import run_demo
    from reconciler.render.fold import fold

    ok = run(run_demo(lambda text: click.echo(fold(text)), state_file=keep_state, color=use_color()))
    if not ok:
        sys.exit(1)


@click.group(epilog=SIM_ENV)
def sim() -> None:
    """The Webex API simulator: a local stand-in for webexapis.com to try the CLI against.

    \b
    Example:
      reconciler sim serve --port 8765     # then run the two export lines it prints
    """


class FiniteFloat(click.FloatRange):
    """A ``FloatRange`` that also refuses NaN and infinities (a usage error, like any bad value)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@sim.command("serve", epilog=SIM_SERVE_ENV)
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
    """Serve the simulator over HTTP until Ctrl-C; it prints how to point the CLI at it.

    \b
    Examples:
      reconciler sim serve                  # the demo org on http://127.0.0.1:8765/v1
      reconciler sim serve --seed 1 --devices 400 --state org.json
    """
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
    for line in serve_banner(host, port, seed, token):
        click.echo(line, err=True)
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


def serve_banner(host: str, port: int, seed: str, token: str | None) -> list[str]:
    """What ``sim serve`` says first: where it listens, and the two lines that point the CLI at it
    (never the ``--token`` value itself)."""
    shown = f"[{host}]" if ":" in host else host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else shown
    url = f"http://{shown}:{port}/v1"
    value = "<the --token value>" if token else "sim-token   # any token will do"
    return [
        f"Simulated Webex API on {url} (seed {seed}). Point the CLI at it, in another shell:",
        f"  export WEBEX_BASE_URL={url}",
        f"  export WEBEX_ACCESS_TOKEN={value}",
        "Ctrl-C stops it.",
    ]


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
