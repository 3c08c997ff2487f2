"""``explain`` and ``export``: the live org read for a person (one device's values and their
sources) or written as manifests."""

from __future__ import annotations

import os
from typing import Any

import click

from reconciler.cli.boundary import handle_errors
from reconciler.cli.helptext import env_epilog
from reconciler.cli.options import (
    connection_for,
    connection_options,
    out_option,
    quiet_option,
    showing_progress,
    use_color,
)


@click.command(epilog=env_epilog("explain"))
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
    from reconciler.render.formats import result_renderer

    address, paths = _address_and_paths(args)
    with showing_progress(quiet):
        doc = explain_command(connection_for(kw, paths), paths, address)
    click.echo(result_renderer(fmt, color=use_color()).explain(doc), nl=False)


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


@click.command(epilog=env_epilog("export"))
@out_option("Write manifests here (a new or an exported directory).", dir_okay=True, required=True)
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
    from reconciler.flows.export import export_command
    from reconciler.flows.export_files import secret_lines
    from reconciler.progress import task
    from reconciler.render.fold import fold

    conn = connection_for(kw, None)  # no manifests: no Policy to read
    with showing_progress(quiet), task("reading devices", total=None) as shown:

        def progress(done: int, total: int) -> None:
            shown.update(completed=done, total=total)

        report = export_command(
            conn, out, locations=locations, kinds=kinds, macs=macs, progress=progress, all_fields=all_fields
        )
    for w in [] if quiet else report.warnings:
        click.echo(fold(f"Warning: {w}"), err=True)
    click.echo(
        fold(
            f"Exported to {out}: {report.written} new, {report.updated} updated, "
            f"{report.unchanged} unchanged file(s); {report.devices} device(s)."
        )
    )
    for line in secret_lines(report.secrets):
        click.echo(fold(line))
