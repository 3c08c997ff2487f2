"""Connections (real API or embedded simulator) and the plan, apply and export flows the CLI calls."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler import runtime, secrets
from reconciler.apply import ApplyLog, ApplyReport, Executor
from reconciler.errors import (
    ConfigError,
    Interrupted,
    PlanRefused,
    ReconcilerError,
    StalePlan,
    ValidationFailed,
)
from reconciler.journal import PendingPush, clean_base_url
from reconciler.kinds.context import answer_digest
from reconciler.kinds.device import SIP_PASSWORD_STEP
from reconciler.model import Diagnostic, Resource
from reconciler.plan import Plan, enforce_threshold, safety_of
from reconciler.planner import build_plan
from reconciler.progress import task
from reconciler.pushes import Owed
from reconciler.resume import finish_jobs, journal_for, left_pending, owed_by, owed_by_saved
from reconciler.secrets import SecretBaseline
from reconciler.titles import object_names
from reconciler.webex.limiter import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from reconciler.drift import DriftReport
    from reconciler.export import ExportReport
    from reconciler.listings import Listings
    from reconciler.review import PlanReview
    from reconciler.secret_record import SecretRecord
    from reconciler.webex.client import WebexClient

T = TypeVar("T")

SIM_BASE_URL = "http://sim.invalid/v1"
DEFAULT_SIM_STATE = ".reconciler/sim-state.json"
DEFAULT_LOG = ".reconciler/apply-log.jsonl"
# With --simulate and no --log: the embedded simulator's runs keep a journal of their own, so that
# one never stands in the way of a run against the API (a log of another API is refused).
DEFAULT_SIM_LOG = ".reconciler/sim-apply-log.jsonl"


@dataclass
class Connection:
    base_url: str | None = None
    token_file: str | None = None
    org_id: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    simulate: bool = False
    sim_state: str = DEFAULT_SIM_STATE
    debug: bool = False
    timeout: float = 30.0  # seconds to wait for each API answer
    listing_lag: float | None = None  # seconds to look for a lost create in listings (None: default)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    sim_app: Any = None  # an already-built simulator app (tests, demo)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine to the end, in an event loop of its own."""
    with warnings.catch_warnings():
        # An error in one concurrent read cancels its siblings: the coroutines they never started
        # are not worth a warning on the user's terminal (the error itself is shown).
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
        return asyncio.run(coro)


@asynccontextmanager
async def connect(conn: Connection) -> AsyncIterator[WebexClient]:
    from reconciler.webex.client import make_client

    if conn.simulate or conn.sim_app is not None:
        from reconciler.webex.inprocess import in_process_transport

        app = conn.sim_app
        if app is None:
            from reconciler.sim.app import create_app

            Path(conn.sim_state).parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(conn.sim_state):
                check_sim_state(conn.sim_state)
            app = create_app(seed="demo", state_file=conn.sim_state, job_duration_s=0.2)
            from reconciler.webex.redact import is_secret

            app.state.sim.keep_out = is_secret  # the state file never holds a fromEnv value
        client = make_client(
            SIM_BASE_URL,
            None,
            conn.org_id,
            conn.concurrency,
            transport=in_process_transport(app),
            environ={"WEBEX_ACCESS_TOKEN": "simulated-token"},
            timeout=conn.timeout,
            debug=conn.debug,
        )
    else:
        client = make_client(
            conn.base_url,
            conn.token_file,
            conn.org_id,
            conn.concurrency,
            environ=conn.environ,
            timeout=conn.timeout,
            debug=conn.debug,
        )
    if conn.listing_lag is not None:
        client.listing_lag_s = conn.listing_lag
    async with client:
        yield client


# The last successful load: a digest of the files it read, and what they gave. ``apply`` loads the
# same manifests up to three times (plan, policy, verification plan): parsing and validating
# 10,000 files takes seconds, reading and hashing them again to see that nothing changed does not.
_last_load: dict[str, Any] = {}


def _files_digest(paths: list[str]) -> str | None:
    """A digest of what is under ``paths``: every file and directory (followed symlinks included)
    with its size, inode and modification and change times; None when a path cannot be read."""
    h = hashlib.sha256()
    seen: set[str] = set()
    # A file changed less than this long ago may change again within the file system's timestamp
    # granularity without its times changing ("racily clean" in git's words): no digest then.
    recent = time.time_ns() - 2_000_000_000
    racy = False

    def add(path: str) -> None:
        nonlocal racy
        st = os.stat(path)
        racy = racy or max(st.st_mtime_ns, st.st_ctime_ns) >= recent
        h.update(f"{path}\0{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}\n".encode())

    try:
        for top in paths:
            if not os.path.isdir(top):
                add(top)
                continue
            for root, dirs, files in os.walk(top, followlinks=True):
                real = os.path.realpath(root)
                if real in seen:
                    dirs[:] = []
                    continue
                seen.add(real)
                dirs.sort()
                add(root)
                for name in sorted(files):
                    add(os.path.join(root, name))
    except OSError:
        return None
    return None if racy else h.hexdigest()


def load(paths: list[str]) -> list[Resource]:
    """Validate offline; raise with every problem, before anything touches the network.

    When no file or directory under ``paths`` changed since the last successful load (same size,
    inode, modification and change times), its resources are returned again instead of parsing
    everything anew (planning never modifies resources)."""
    return load_checked(paths)[0]


def load_checked(paths: list[str]) -> tuple[list[Resource], list[Diagnostic]]:
    """``load``, with the validation warnings (look-alike names)."""
    from reconciler.validate import validate_paths

    stamp = _files_digest(paths)
    if stamp is not None and _last_load.get("stamp") == stamp:
        return list(_last_load["resources"]), list(_last_load["warnings"])
    _last_load.clear()
    with task("loading manifests"):
        result = validate_paths(paths)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        raise ValidationFailed(list(errors))
    if stamp is not None:
        _last_load.update(stamp=stamp, resources=list(result.resources), warnings=list(result.warnings))
    runtime.settle()
    return result.resources, result.warnings


def check_sim_state(path: str) -> None:
    """A simulator state file that can be loaded: a regular, size-capped file holding a state the
    simulator reads (``ConfigError`` naming the file otherwise, never a hang or a traceback)."""
    from reconciler.localfiles import read_local
    from reconciler.sim.store import Store

    raw = read_local(path, "simulator state")
    try:
        Store.from_dict(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
        message = f"cannot read simulator state {path}: {problem}; move it away to start afresh"
        raise ConfigError(message) from None


def lock_target(conn: Connection) -> tuple[str, str | None]:
    """(base URL, org) that an apply through ``conn`` changes: what its lock is keyed by. An
    embedded simulator is told apart by its state file."""
    if conn.simulate or conn.sim_app is not None:
        where = "in-process" if conn.sim_app is not None else os.path.abspath(conn.sim_state)
        return f"{SIM_BASE_URL}#{where}", conn.org_id
    from reconciler.webex.client import resolve_base_url

    return resolve_base_url(conn.base_url, conn.environ), conn.org_id


def require_env(paths: list[str]) -> None:
    """Refuse to start (before any request) while a ``fromEnv`` of the manifests under ``paths``
    names an environment variable that is not set, naming each with its file:line."""
    from reconciler.inputs import unset_env

    if paths:
        missing = unset_env(load(paths), os.environ)
        if missing:
            problem = f"{len(missing)} fromEnv secret(s) name an unset environment variable"
            raise ValidationFailed([*missing], f"{problem}; nothing was sent")


def refuse_credential_values(paths: list[str]) -> None:
    """Refuse (before any request) a ``fromEnv`` whose variable holds one of the tool's own
    credentials, e.g. the content of ``--token-file`` copied into an allowed variable."""
    from reconciler.envpolicy import credential_values
    from reconciler.webex.redact import is_credential

    found = credential_values(load(paths), os.environ, is_credential)
    if found:
        problem = f"{len(found)} fromEnv secret(s) hold a credential"
        raise ValidationFailed([*found], f"{problem}; nothing was sent")


def policy_concurrency(paths: list[str]) -> int | None:
    """The Policy's ``concurrency`` in the manifests under ``paths`` (validated first: a bad repo
    fails here, before anything touches the network), or None."""
    for r in load(paths):
        if r.kind == "Policy" and isinstance(r.spec.get("concurrency"), int):
            return int(r.spec["concurrency"])
    return None


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
) -> Plan:
    """Load and plan; ``rewrite_secrets``: resources whose write-only secret an earlier apply did
    not write (``unwritten_secrets``), written again as ``rotate_secrets`` would. The secret
    declarations are compared with ``secret_baseline``, else with the previous git commit.

    ``only``: plan just these addresses (``plan --changed-only``). ``listings``: the lookups, kept
    for the verification of an apply (``reconciler.listings``). ``log_path``: the apply log whose
    record of written secrets (``reconciler.secret_record``) the secret decisions read. ``owed``:
    pending pushes of an earlier apply (``journal_owed``), planned as pushes of this plan.

    The plan's warnings start with the manifests' (look-alike names) and each ``fromEnv`` whose
    variable is not set here (``apply`` refuses to start until it is)."""
    from reconciler.inputs import unset_env

    resources, notes = load_checked(paths)
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
    from reconciler.secret_record import SecretRecord, record_path, scope_of

    return SecretRecord.read(record_path(log_path), scope_of(client.base_url, client.org_id))


def remember_secrets(client: WebexClient, plan: Plan, report: ApplyReport, log_path: str) -> None:
    """Record the write-only secrets ``report`` says were written (their reference, salted and
    hashed, per device): a plan made after this apply does not write them again."""
    from reconciler.secrets import reference

    done = {r.step for r in report.by_status("applied")}
    written = {
        s.path: reference((s.body or {}).get("sipPassword"))
        for s in plan.steps
        if s.address.endswith(SIP_PASSWORD_STEP) and s.id in done and isinstance(s.body, dict)
    }
    written_secrets(client, log_path).remember(written)


@dataclass
class PlanRequest:
    """What ``plan`` was asked for; ``baseline``: the base branch's checkout (a PR review)."""

    paths: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    prune: bool | None = None
    rotate_secrets: bool = False
    baseline: str | None = None
    changed_only: bool = False  # with a baseline: only what the paths change (``reconciler.changed``)
    log_path: str = DEFAULT_LOG  # the apply log whose pending pushes are plan steps


def plan_command(conn: Connection, req: PlanRequest) -> Plan | PlanReview:
    """``plan``: the plan of ``req.paths`` against live state, or (with a baseline) the review
    that splits it into what the paths introduce and drift that was already there."""

    if req.changed_only and not req.baseline:
        raise ConfigError("--changed-only needs --baseline DIR (what the changes are relative to)")

    async def go() -> Plan | PlanReview:
        async with connect(conn) as client:
            if req.baseline:
                from reconciler.review import plan_with_baseline

                return await plan_with_baseline(
                    client,
                    req.paths,
                    req.baseline,
                    req.targets,
                    req.prune,
                    req.rotate_secrets,
                    req.changed_only,
                )
            noted: list[str] = []
            journal = journal_for(req.log_path, client.base_url, noted.append)
            plan = await make_plan(
                client, req.paths, req.targets, req.prune, req.rotate_secrets, owed=owed_by(journal)
            )
            plan.warnings[:0] = noted
            return plan

    return run(go())


def drift_command(
    conn: Connection,
    paths: list[str],
    room: str | None = None,
    bot: str | None = None,
    log_path: str = DEFAULT_LOG,
) -> tuple[DriftReport, str | None]:
    """``drift``: every difference between ``paths`` and live state; when there is drift and a
    ``room`` and ``bot`` token are given, a summary is posted there. Returns the report and a
    warning when the post failed (never the command's outcome)."""
    from reconciler.drift import drift_report
    from reconciler.notify import drift_message, post, run_link

    async def go() -> tuple[DriftReport, str | None]:
        async with connect(conn) as client:
            noted: list[str] = []
            journal = journal_for(log_path, client.base_url, noted.append)
            plan = await make_plan(client, paths, owed=owed_by(journal))
            plan.warnings[:0] = noted
            found = drift_report(plan)
            problem = None
            if room and bot and found.has_drift:
                message = drift_message(found, paths, run_link(conn.environ))
                problem = await post(client, room, message, bot)
            return found, problem

    return run(go())


def explain_command(conn: Connection, paths: list[str], address: str) -> dict[str, Any]:
    """``explain``: why the device at ``address`` (``Device/MAC``) has each of its values, from
    live state and the manifests under ``paths`` (``reconciler.explain``)."""
    from reconciler.explain import explain, parse_address

    mac = parse_address(address)
    resources = load(paths)

    async def go() -> dict[str, Any]:
        async with connect(conn) as client:
            return await explain(client, resources, mac)

    return run(go())


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
    from reconciler.saved import check_same
    from reconciler.secrets import from_resources

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


def save_plan(plan: Plan, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(plan.to_json(), indent=2) + "\n", encoding="utf-8")


def read_plan(path: str, check_paths: bool = True) -> Plan:
    """A saved plan, read strictly: one ``ConfigError`` line naming the file and what is wrong.
    ``check_paths``: its manifest paths must lie inside the working directory or its repository
    (they are about to be read); rendering it alone reads none."""
    from reconciler.localfiles import read_local
    from reconciler.saved import check_contained, parse
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
    return plan


@dataclass
class ApplyOutcome:
    plan: Plan
    report: ApplyReport
    remaining: Plan | None  # the verification plan (None when nothing was executed)

    @property
    def succeeded(self) -> bool:
        """Every step applied and, where it was verified, live state matches the manifests."""
        report = self.report
        unfinished = report.by_status("failed") or report.by_status("skipped")
        return not unfinished and (self.remaining is None or self.remaining.empty)


@dataclass
class ApplyRequest:
    """What ``apply`` was asked for: plan ``paths`` (or those of the apply log when resuming), or
    apply a ``saved`` plan; post the outcome to the Webex space ``room`` with the ``bot`` token."""

    paths: list[str] = field(default_factory=list)
    saved: Plan | None = None
    plan_file: str = "(saved plan)"  # where ``saved`` was read from (named in messages)
    targets: list[str] = field(default_factory=list)
    prune: bool | None = None
    log_path: str = DEFAULT_LOG
    resume: bool = False
    max_changes: int | None = None
    force: bool = False
    rotate_secrets: bool = False
    room: str | None = None
    bot: str | None = None
    lock_timeout: float = 0.0  # seconds to wait for another apply of the same org


def apply_command(
    conn: Connection,
    req: ApplyRequest,
    *,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    show: Callable[[Plan], None],
) -> ApplyOutcome:
    """``apply``: holding the org's apply lock, finish what an interrupted apply left, plan (a
    saved plan is planned again and must come out the same), ``show`` the plan, apply it once
    confirmed, and post the outcome (or the error) to the room when asked. Progress and warnings
    go to ``say``."""
    from reconciler.lock import apply_lock

    try:
        with apply_lock(*lock_target(conn), req.lock_timeout):
            outcome = _apply_locked(conn, req, confirm, say, show)
    except ReconcilerError as exc:
        if req.room and req.bot and not isinstance(exc, Interrupted):
            from reconciler.notify import error_message, run_link

            notify(conn, req.room, req.bot, error_message("apply", exc, run_link(os.environ)), say)
        raise
    if req.room and req.bot and (outcome.report.results or not outcome.plan.empty):
        from reconciler.notify import apply_message, run_link

        notify(conn, req.room, req.bot, apply_message(outcome, run_link(os.environ)), say)
    return outcome


def _apply_locked(
    conn: Connection,
    req: ApplyRequest,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    show: Callable[[Plan], None],
) -> ApplyOutcome:
    """``apply_command`` once it holds the lock: the apply log is read only then (another apply
    may be writing it until the lock is ours)."""
    from reconciler.saved import check_target, contained_paths

    # Where the manifests are: a saved plan's or an apply log's paths only inside the repository,
    # shown before they are read (here, before any request).
    journal = journal_for(req.log_path, None, say)
    source = req.paths
    if req.saved is not None:
        source = contained_paths(req.saved.paths, f"saved plan {req.plan_file}", say)
        if not source:
            raise ConfigError(f"saved plan {req.plan_file} names no manifest paths; plan again")
    elif not source and req.resume and journal is not None:
        source = contained_paths(journal.paths, f"apply log {req.log_path}", say)
    if not source:
        raise ConfigError(f"{req.log_path} names no manifest paths; give the PATHs too")
    require_env(source)
    if journal is not None:
        journal.check_steps(load(source))

    async def go() -> ApplyOutcome:
        from reconciler.listings import Listings

        async with connect(conn) as client:
            refuse_credential_values(source)  # the credentials are known now; nothing sent yet
            if journal is not None:
                journal.check_api(client.base_url)
            if req.saved is not None:  # checked before the first request
                check_target(req.saved, client.base_url, client.org_id, req.plan_file)
            settled = journal is not None and journal.unfinished
            await finish_jobs(client, journal, req.log_path, say)
            await wait_for_jobs(client, say)
            listings = Listings(client)  # the plan's lookups, reused by the verification
            if req.saved is not None:
                owed = owed_by_saved(req.saved, req.plan_file, journal)
                plan = await replan_saved(client, req.saved, source, req.plan_file, listings, owed)
            else:
                # a sipPassword the last apply planned but did not write is planned again
                left = set(journal.unwritten_secrets) if journal is not None else set()
                plan = await make_plan(
                    client,
                    source,
                    req.targets,
                    req.prune,
                    rotate_secrets=req.rotate_secrets,
                    rewrite_secrets=left,
                    listings=listings,
                    log_path=req.log_path,
                    owed=owed_by(journal),
                )
            show(plan)
            note = left_pending(journal, plan)
            if note:
                say(f"Note: {note}")
            return await apply_flow(
                client,
                plan,
                confirm=confirm,
                say=say,
                log_path=req.log_path,
                max_changes=req.max_changes,
                force=req.force,
                concurrency=conn.concurrency,
                carried=list(journal.pending.values()) if journal is not None else [],
                listings=listings,
                settled=settled,
            )

    return run(go())


def notify(conn: Connection, room: str, token: str, markdown: str, say: Callable[[str], None]) -> None:
    """Post to the room; a failure to post is a warning (to ``say``), never the command's outcome."""
    from reconciler.notify import post

    async def go() -> str | None:
        async with connect(conn) as client:
            return await post(client, room, markdown, token)

    try:
        problem = run(go())
    except ReconcilerError as exc:
        problem = f"the notification to room {room} was not posted: {exc}"
    if problem:
        say(f"Warning: {problem}")


async def export_org(
    conn: Connection,
    out: str,
    locations: tuple[str, ...],
    kinds: tuple[str, ...],
    macs: tuple[str, ...],
    progress: Callable[[int, int], None],
    all_fields: bool = False,
) -> ExportReport:
    """``export``: write manifests for the live org under ``out``; an existing file keeps the
    settings it declares, no more, unless ``all_fields``."""
    from reconciler.export import export

    async with connect(conn) as client:
        return await export(client, out, locations, kinds, macs, progress=progress, all_fields=all_fields)


def _open_log(client: WebexClient, plan: Plan, log_path: str, carried: list[PendingPush] | None) -> ApplyLog:
    """A new apply log for ``plan`` (the earlier one kept beside it), its header and carried pushes."""
    log = ApplyLog(Path(log_path))
    secrets = [
        {"step": s.id, "resource": s.resource} for s in plan.steps if s.address.endswith(SIP_PASSWORD_STEP)
    ]
    log.open(
        {
            "base_url": clean_base_url(client.base_url),
            "org_id": client.org_id or plan.org_seen,
            "plan": plan.checksum,
            "paths": plan.paths,
            "steps": len(plan.steps),
            "secret_writes": secrets,
        },
        carried=[p.to_json() for p in carried or []],
    )
    return log


async def apply_flow(
    client: WebexClient,
    plan: Plan,
    *,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    log_path: str = DEFAULT_LOG,
    max_changes: int | None = None,
    force: bool = False,
    verify: bool = True,
    environ: Mapping[str, str] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    carried: list[PendingPush] | None = None,
    listings: Listings | None = None,
    settled: bool = False,
) -> ApplyOutcome:
    """Threshold, confirmation, execution with a log, and verification by a second plan of what
    the first one wrote (``reconciler.verify``). ``listings``: the lookups ``plan`` was made with;
    the verification reuses those that no step of the plan can have changed. ``carried``: the
    pending pushes of the earlier apply log, kept pending in the new one until pushed (``settled``:
    the earlier log's jobs were waited for, so even an empty plan writes a new log). Only the
    steps of ``plan`` run: nothing is added to it here."""
    from reconciler.kinds.context import Policy

    resources = load(plan.paths) if plan.paths else []
    policy = Policy.from_resources(resources)
    if not plan.safety:  # a plan saved by an older version: the policy's limits
        plan.safety = safety_of(policy.max_changes, policy.max_changes_percent)
    enforce_threshold(plan, max_changes, None, force)
    report = ApplyReport()
    if plan.empty:
        if settled:  # the earlier log's jobs ended since: its pending pushes are out of date
            _open_log(client, plan, log_path, carried).close(finished=True)
        return ApplyOutcome(plan, report, None)
    if not confirm(plan):
        raise PlanRefused("apply cancelled: the plan was not approved")
    log = _open_log(client, plan, log_path, carried)
    executor = Executor(client, log, say, environ=environ, concurrency=concurrency)
    finished = False
    try:
        report = await executor.run(plan)
        finished = True
    finally:
        log.close(finished=finished)
        remember_secrets(client, plan, ApplyReport(executor.results), log_path)
    remaining = None
    if verify and plan.paths:
        from reconciler.verify import verify_apply

        with task("verifying that live state converged"):
            from reconciler.listed import wait_until_listed

            await wait_until_listed(client, [s for s in plan.steps if report_applied(report, s.id)])
            kept = listings.after(plan.steps) if listings is not None else None
            remaining = await verify_apply(client, plan, load(plan.paths), kept)
    return ApplyOutcome(plan, report, remaining)


def report_applied(report: ApplyReport, step_id: str) -> bool:
    result = report.results.get(step_id)
    return result is not None and result.status == "applied"


async def wait_for_jobs(client: WebexClient, say: Callable[[str], None]) -> None:
    """A plan made while a bulk job runs is stale at once: let running jobs finish first."""
    from reconciler.webex import jobs

    for job_type in jobs.JOB_PATHS:
        listed = await jobs.list_jobs(client, job_type)
        if any(j.get("latestExecutionStatus") in ("STARTING", "STARTED") for j in listed):
            say(f"A {job_type} job is running in the org; waiting for it before planning.")
            await jobs.wait_for_running_jobs(client, job_type)
