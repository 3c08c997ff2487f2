"""Saved plans in a flow: written and read (strictly), checked against live state, and planned
again before an apply, which applies the new plan only when it equals the saved one."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.applying.resume import owed_by_saved
from reconciler.errors import ConfigError, StalePlan
from reconciler.flows.load import load
from reconciler.flows.make import make_plan
from reconciler.planning.kinds.context import answer_digest
from reconciler.planning.plan import Plan
from reconciler.planning.titles import object_names
from reconciler.progress import task
from reconciler.webex.untrusted import api_text

if TYPE_CHECKING:
    from reconciler.planning.listings import Listings
    from reconciler.planning.pushes import Owed
    from reconciler.webex.client import WebexClient


async def check_fresh(client: WebexClient, plan: Plan) -> None:
    """Refuse a saved plan whose reads no longer match live state (``StalePlan``)."""
    changed = await stale_reads(client, plan)
    if changed:
        names = object_names(plan, changed)  # objects, not API paths
        raise StalePlan(
            "the saved plan is stale: live state changed since it was made: "
            + ", ".join(names[:10])
            + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            + ". Plan again."
        )


async def stale_reads(client: WebexClient, plan: Plan) -> list[str]:
    """The reads of a saved plan whose live value has changed since (names what changed)."""

    async def check(key: str, expected: str) -> str | None:
        from reconciler.webex.answers import answer_json

        method, _, path = key.partition(" ")
        if method != "GET":  # a saved plan's reads only read (``saved.parse`` refuses others first)
            raise ConfigError(f"the saved plan's read {key!r} is not a GET")
        resp = await client.request(method, path)
        return None if answer_digest(answer_json(resp), resp.content) == expected else path

    with task("checking the saved plan against live state", total=len(plan.reads)) as shown:

        async def counted(key: str, expected: str) -> str | None:
            found = await check(key, expected)
            shown.advance()
            return found

        results = await asyncio.gather(*(counted(k, v) for k, v in plan.reads.items()))
    return sorted(r for r in results if r)


async def replan_saved(
    client: WebexClient,
    saved: Plan,
    paths: list[str],
    source: str,
    listings: Listings | None = None,
    owed: Owed | None = None,
) -> Plan:
    """Plan again from ``paths`` and live state, the way ``saved`` was planned; return the new plan
    if it equals ``saved`` step for step (``PlanMismatch`` otherwise, ``StalePlan`` when a read
    changed). Applying the new plan then does exactly what was reviewed."""
    from reconciler.applying.saved import check_same
    from reconciler.planning.secrets import from_resources

    await check_fresh(client, saved)
    # Write-only secrets follow the saved plan (it was compared with its baseline when made): the
    # ones it writes are written again, no other; a secret no longer declared is not planned.
    written = {str(n.get("resource")) for n in saved.secrets if n.get("written")}
    current = from_resources(load(paths), f"saved plan {source}")
    fresh = await make_plan(
        client,
        paths,
        saved.targets,
        saved.prune,
        rewrite_secrets=written,
        secret_baseline=current,
        only=None if saved.only is None else set(saved.only),
        listings=listings,
        owed=owed if owed is not None else owed_by_saved(saved, source, None),
    )
    check_same(saved, fresh, source)
    return fresh


def save_plan(plan: Plan, path: str, document: dict[str, Any] | None = None) -> None:
    """Write ``plan`` (or its ``document``, e.g. a review's) to ``path``, with the directory it was
    made in: its manifest paths are relative to it (``where_to_apply``)."""
    doc = {**(document if document is not None else plan.to_json()), "workdir": os.path.abspath(os.getcwd())}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def where_to_apply(paths: list[str], workdir: Any, source: str) -> None:
    """Refuse, in one line saying where to run it, a saved plan whose manifest paths mean other
    files here than where it was made (``workdir``, when that directory is on this machine), or
    are not here at all: never a "manifest problem" for a path. A plan made in another checkout
    (a CI run) is applied from the same place in this one."""
    made = workdir if isinstance(workdir, str) and os.path.isabs(workdir) else None
    if made is not None and os.path.isdir(made) and os.path.realpath(made) != os.path.realpath("."):
        moved = [p for p in paths if os.path.realpath(os.path.join(made, p)) != os.path.realpath(p)]
        if moved:
            run = f"cd {shlex.quote(api_text(made, 300))} && reconciler apply --plan {_absolute(source)}"
            raise ConfigError(
                f"saved plan {source} was made in another directory (its paths, such as {moved[0]!r}, "
                f"are relative to it): run `{run}`"
            )
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise ConfigError(
            f"saved plan {source} names the manifest path {missing[0]!r}, not found from {os.getcwd()}: "
            "run apply --plan from the directory where `reconciler plan` made it"
        )


def _absolute(path: str) -> str:
    return shlex.quote(os.path.abspath(path))


def read_plan(path: str, check_paths: bool = True) -> Plan:
    """A saved plan, read strictly: one ``ConfigError`` line naming the file and what is wrong.
    ``check_paths``: its manifest paths must lie inside the working directory or its repository
    (they are about to be read); rendering it alone reads none."""
    from reconciler.applying.saved import check_contained, parse
    from reconciler.localfiles import read_local
    from reconciler.tracked import refuse_tracked
    from reconciler.webex.untrusted import parse_json

    if check_paths:  # about to be applied: never a file a commit brought
        refuse_tracked(path, "saved plan")
    raw = read_local(path, "saved plan")  # a regular file, size-capped: never a FIFO or /dev/zero
    try:
        data = parse_json(raw.decode("utf-8"))
    except ValueError as exc:  # not UTF-8, not JSON, nested too deep
        raise ConfigError(f"cannot read saved plan {path}: {exc}") from None
    plan = parse(data, path)
    if check_paths:
        check_contained(plan.paths, f"saved plan {path}")
        where_to_apply(plan.paths, data.get("workdir") if isinstance(data, dict) else None, path)
    return plan
