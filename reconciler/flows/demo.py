"""`reconciler demo`: validate, plan, apply, plan again, drift, converge — on an embedded simulator."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from reconciler.flows.apply import apply_flow
from reconciler.flows.connect import Connection, connect
from reconciler.flows.make import make_plan
from reconciler.planning.plan import Plan
from reconciler.render import render_text, summary_line
from reconciler.validation import parse_cache


def _examples() -> Path:
    """The demo org's manifests: shipped in the package (reconciler/examples), or, in a source
    checkout (an editable install), the repository's examples/ that the package is built from."""
    packaged = Path(__file__).parents[1] / "examples"
    return packaged if packaged.is_dir() else Path(__file__).parents[2] / "examples"


EXAMPLES = _examples()


def _banner(echo: Callable[[str], None], text: str) -> None:
    echo("")
    from reconciler.render.common import text_width

    echo(f"== {text} " + "=" * max(0, min(70, text_width() - 4) - len(text)))


async def run_demo(echo: Callable[[str], None], state_file: str | None = None, color: bool = False) -> bool:
    from reconciler.render.text import render_validation_text
    from reconciler.sim.app import create_app
    from reconciler.validation.validate import validate_paths

    # Everything the demo writes (simulator state, apply log, parse cache) goes in a temporary
    # directory: it leaves nothing behind.
    with (
        tempfile.TemporaryDirectory(prefix="reconciler-demo-") as tmp,
        parse_cache.located(Path(tmp) / "parse-cache.bin"),
    ):
        state = state_file or str(Path(tmp) / "sim-state.json")
        log = str(Path(tmp) / "apply-log.jsonl")
        app = create_app(seed="demo", state_file=state, job_duration_s=0.2)
        conn = Connection(sim_app=app)
        paths = [str(EXAMPLES)]

        _banner(echo, f"1. validate {EXAMPLES.name}/ (offline)")
        result = validate_paths(paths)
        echo(render_validation_text(result).rstrip())
        if not result.ok:
            return False

        async with connect(conn) as client:
            _banner(echo, "2. plan against the simulated demo org")
            first: Plan = await make_plan(client, paths)
            echo(render_text(first, color=color).rstrip())

            _banner(echo, "3. apply")
            outcome = await apply_flow(client, first, confirm=lambda p: True, say=echo, log_path=log)
            failed = outcome.report.by_status("failed")
            echo(f"applied {len(outcome.report.by_status('applied'))} step(s), {len(failed)} failed")
            for r in failed:
                echo(f"  failed {r.step}: {r.message}")

            _banner(echo, "4. plan again: nothing left to do")
            second = await make_plan(client, paths)
            echo(summary_line(second))

            _banner(echo, "5. someone changes a phone in Control Hub (out of band)")
            await _out_of_band(client, echo)

            _banner(echo, "6. drift: the plan shows what changed behind the tool's back")
            drift = await make_plan(client, paths)
            echo(render_text(drift, color=color).rstrip())

            _banner(echo, "7. apply again to restore the declared state")
            outcome = await apply_flow(client, drift, confirm=lambda p: True, say=echo, log_path=log)
            final = outcome.remaining
            converged = final is not None and final.empty and not outcome.report.by_status("failed")
            echo("")
            echo("Converged: live state matches examples/." if converged else "Did not converge.")
            return converged and second.empty and not failed


async def _out_of_band(client: object, echo: Callable[[str], None]) -> None:
    from reconciler.webex.client import WebexClient

    assert isinstance(client, WebexClient)
    devices = await client.devices_by_mac(["0A1B2C3D4E01"])
    cid = devices["0A1B2C3D4E01"]["callingDeviceId"]
    path = f"/telephony/config/devices/{cid}/settings"
    live = (await client.request("GET", path)).json()
    body = {"customEnabled": live["customEnabled"], "customizations": live["customizations"]}
    body["customizations"]["mpp"]["backlightTimer"] = "ONE_MIN"
    await client.request("PUT", path, json=body)
    echo("PUT device settings of 0A:1B:2C:3D:4E:01: mpp.backlightTimer FIVE_MIN -> ONE_MIN")
