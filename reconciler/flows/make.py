"""``make_plan``: the manifests under some paths, loaded and planned against live state; the step
every flow shares (plan, drift, review, apply, push), and the record of the secrets an apply wrote."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from reconciler.errors import ValidationFailed
from reconciler.flows.connect import DEFAULT_LOG
from reconciler.flows.load import load_checked
from reconciler.planning import secrets
from reconciler.planning.kinds.device import SIP_PASSWORD_STEP
from reconciler.planning.plan import Plan
from reconciler.planning.planner import build_plan

if TYPE_CHECKING:
    from reconciler.applying.results import ApplyReport
    from reconciler.planning.listings import Listings
    from reconciler.planning.pushes import Owed
    from reconciler.planning.secrets import SecretBaseline
    from reconciler.webex.client import WebexClient
    from reconciler.workdir.secret_record import SecretRecord


async def make_plan(
    client: WebexClient,
    paths: list[str],
    targets: list[str] | None = None,
    prune: bool | None = None,
    rotate_secrets: bool = False,
    rewrite_secrets: set[str] | None = None,
    secret_baseline: SecretBaseline | None = None,
    secrets_written: set[str] | None = None,
    only: set[str] | None = None,
    listings: Listings | None = None,
    log_path: str = DEFAULT_LOG,
    owed: Owed | None = None,
    load_once: bool = False,
) -> Plan:
    """Load and plan (``load_once``: ``load_checked``'s ``once``); ``rewrite_secrets``: resources
    whose write-only secret an earlier apply did not write (``unwritten_secrets``), written again
    as ``rotate_secrets`` would. The secret declarations are compared with ``secret_baseline``,
    else with the previous git commit.

    ``only``: plan just these addresses (``plan --changed-only``). ``listings``: the lookups, kept
    for the verification of an apply (``reconciler.planning.listings``). ``log_path``: the apply log whose
    record of written secrets (``reconciler.workdir.secret_record``) the secret decisions read. ``owed``:
    pending pushes of an earlier apply (``journal_owed``), planned as pushes of this plan.

    The plan's warnings start with the manifests' (look-alike names) and each ``fromEnv`` whose
    variable is not set here (``apply`` refuses to start until it is)."""
    from reconciler.validation.inputs import unset_env

    resources, notes = load_checked(paths, once=load_once)
    env_notes = unset_env(resources, os.environ, "warning")
    refused = [d for d in env_notes if d.severity == "error"]
    if refused:
        raise ValidationFailed([*refused], f"{len(refused)} fromEnv secret(s) the API would refuse")
    notes += env_notes
    if secret_baseline is None:
        secret_baseline = secrets.from_git(resources)
    plan = await build_plan(
        client,
        resources,
        paths=list(paths),
        targets=targets,
        prune=prune,
        rotate_secrets=rotate_secrets,
        rewrite_secrets=rewrite_secrets,
        secret_baseline=secret_baseline,
        secrets_written=secrets_written,
        only=only,
        listings=listings,
        secret_record=written_secrets(client, log_path),
        owed=owed,
    )
    plan.base_url, plan.org_id = client.base_url, client.org_id
    plan.only = None if only is None else sorted(only)
    plan.warnings[:0] = [str(d) for d in notes]
    return plan


def written_secrets(client: WebexClient, log_path: str) -> SecretRecord:
    """The record of the secrets the applies logging to ``log_path`` wrote to this API."""
    from reconciler.workdir.secret_record import SecretRecord, record_path, scope_of

    return SecretRecord.read(record_path(log_path), scope_of(client.base_url, client.org_id))


def remember_secrets(client: WebexClient, plan: Plan, report: ApplyReport, log_path: str) -> None:
    """Record the write-only secrets ``report`` says were written (their reference, salted and
    hashed, per device): a plan made after this apply does not write them again."""
    from reconciler.planning.secrets import reference

    done = {r.step for r in report.by_status("applied")}
    written = {
        s.path: reference((s.body or {}).get("sipPassword"))
        for s in plan.steps
        if s.address.endswith(SIP_PASSWORD_STEP) and s.id in done and isinstance(s.body, dict)
    }
    written_secrets(client, log_path).remember(written)
