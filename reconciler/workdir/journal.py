"""The apply log read back: a journal of its own run, never an instruction.

A log records facts about the run that wrote it: the API and org it ran against, the plan it ran
(its checksum), the steps done, the jobs started (type and id) and the devices written and not yet
pushed. ``read_journal`` reads those facts strictly; nothing in a log becomes a request by itself:

- a log written against another API (base URL) or org is refused;
- the jobs it started are only waited for (read), and only for steps of the manifests planned now;
- a pending push names a device by MAC: the next plan looks the device up in this org and plans
  its push itself, and only for a device a manifest manages (``reconciler.planning.pushes``);
- anything else a fresh plan of the manifests would not contain is refused, naming the log line.

A log that git tracks is refused (``reconciler.tracked``): local state is never reviewed input.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reconciler.errors import ConfigError
from reconciler.model import Resource, normalize_mac
from reconciler.textsafe import clip, visible
from reconciler.tracked import refuse_tracked

LOG_FORMAT = 2
_JOB_ID = re.compile(r"^[A-Za-z0-9+/=_-]{1,512}$")
_REBUILD = re.compile(r"^Location/.+\.rebuildPhones$")
REASON_LIMIT = 120  # characters of a logged reason shown in a plan
_LAST_TIME = 253402300799.0  # 9999-12-31 23:59:59 UTC


def clean_base_url(url: str) -> str:
    """``url`` without its userinfo (a password in a base URL is never written or shown) and
    without a trailing slash."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if ":" in (parts.hostname or ""):  # an IPv6 literal
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)).rstrip("/")


def when(ts: float) -> str:
    """A log timestamp as people read it (UTC)."""
    if log_time(ts) is None:
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def log_time(value: Any) -> float | None:
    """``value`` as a time a log may hold (seconds since 1970, finite, before the year 10000), else
    None: a hand-edited ``1e300`` is no time (``time.gmtime`` cannot even show it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and 0 <= seconds <= _LAST_TIME else None


@dataclass(frozen=True)
class PendingPush:
    """A device written by an earlier apply and not pushed since (``line``: the log line naming it)."""

    mac: str
    since: float  # when the apply that wrote it began
    interrupted: bool  # that apply did not finish (else: it finished, its push failed or was held)
    reason: str  # what wrote it (``template assignment branch-sales``)
    line: int

    @property
    def origin(self) -> str:
        """``written by the interrupted apply of 2026-01-05 10:00:00 UTC (its own settings)``."""
        kind = "interrupted apply" if self.interrupted else "apply"
        why = f" ({self.reason})" if self.reason else ""
        return f"written by the {kind} of {when(self.since)}{why}"

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.mac,
            "since": self.since,
            "interrupted": self.interrupted,
            "reason": self.reason,
        }


def pending_origin(entry: dict[str, Any]) -> str:
    """``PendingPush.origin`` of its JSON form (a plan's push step keeps them so)."""
    since = entry.get("since")
    item = PendingPush(
        str(entry.get("device", "")),
        float(since) if isinstance(since, int | float) else 0.0,
        entry.get("interrupted") is not False,
        str(entry.get("reason") or ""),
        0,
    )
    return item.origin


@dataclass
class Journal:
    """What an apply log says about its run."""

    path: str
    began: float
    org_id: str | None
    base_url: str
    plan: str
    paths: list[str]
    finished: bool
    done: set[str] = field(default_factory=set)
    # step id -> (job type, job id, log line): jobs started and not seen to end
    running_jobs: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    # step id -> (job type, job ids known before its POST, body, log line): an unanswered POST
    posting: dict[str, tuple[str, set[str], dict[str, Any], int]] = field(default_factory=dict)
    pending: dict[str, PendingPush] = field(default_factory=dict)  # MAC -> its pending push
    # resource -> log line: write-only secrets the run planned and did not write
    unwritten_secrets: dict[str, int] = field(default_factory=dict)
    pushes_of: dict[str, list[str]] = field(default_factory=dict)  # push step -> the MACs it pushes

    def pushed(self, step: str) -> None:
        """The push ``step`` completed (its job was waited for): its devices are pending no more."""
        for mac in self.pushes_of.get(step, []):
            self.pending.pop(mac, None)

    @property
    def unfinished(self) -> bool:
        return bool(self.running_jobs or self.posting)

    def refuse(self, line: int, problem: str) -> ConfigError:
        return ConfigError(
            f"apply log {self.path}: line {line} {problem}. A log is a journal of its own run, never an "
            "instruction: move it away to start afresh"
        )

    def check_api(self, base_url: str) -> None:
        """Refuse a log written against another API."""
        if self.base_url != clean_base_url(base_url):
            raise ConfigError(
                f"apply log {self.path} was written by an apply against {self.base_url}; this run "
                f"targets {clean_base_url(base_url)}. It is not this run's journal: name another "
                "--log, or move it away"
            )

    def other_org(self, org_id: str | None) -> bool:
        """Whether the log was written for another org than ``org_id`` (both known)."""
        return bool(self.org_id and org_id and self.org_id != org_id)

    def check_org(self, org_id: str | None) -> None:
        """Refuse a log written for another org (when both orgs are known)."""
        if self.other_org(org_id):
            raise ConfigError(
                f"apply log {self.path} was written by an apply for org {self.org_id}; this run is for "
                f"org {org_id}. It is not this run's journal: name another --log, or move it away"
            )

    def check_steps(self, resources: Iterable[Resource]) -> None:
        """Refuse a job or a secret the log names for a step no manifest under plan declares."""
        addresses = {r.address for r in resources}

        def declared(step: str) -> bool:
            if step in addresses or _REBUILD.match(step):
                return True
            return any(step.startswith(a + ".") for a in addresses)

        for step, (_, _, line) in sorted(self.running_jobs.items()):
            if not declared(step):
                raise self.refuse(line, f"names a job of {step!r}, which no manifest declares")
        for step, (_, _, _, line) in sorted(self.posting.items()):
            if not declared(step):
                raise self.refuse(line, f"names a job start of {step!r}, which no manifest declares")
        secret_of = {f"{r.address}": r for r in resources if r.kind == "Device" and "sipPassword" in r.spec}
        for resource, line in sorted(self.unwritten_secrets.items()):
            if resource not in secret_of:
                raise self.refuse(line, f"names a secret write of {resource!r}, which no manifest declares")


Reporter = Callable[[str], None]


def _text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) else None


def _header(path: str, number: int, record: dict[str, Any]) -> Journal:
    """The run's facts from its ``begin`` record (``ConfigError`` when they are not all there)."""

    def bad(problem: str) -> ConfigError:
        return ConfigError(
            f"apply log {path}: line {number}, the run's first record, {problem}; it cannot be trusted "
            "to finish that run: move the file away to start afresh"
        )

    if record.get("event") != "begin":
        raise bad("is not a begin record")
    if record.get("format") != LOG_FORMAT:
        raise bad(
            f"has format {record.get('format')!r}, not {LOG_FORMAT} (written by an older reconciler, "
            "it names no API or org)"
        )
    base_url, org, plan = record.get("base_url"), record.get("org_id"), record.get("plan")
    paths = record.get("paths")
    if not isinstance(base_url, str) or not base_url:
        raise bad("names no API ('base_url')")
    if org is not None and not isinstance(org, str):
        raise bad("has an 'org_id' that is not a string")
    if not isinstance(plan, str):
        raise bad("names no plan ('plan')")
    if not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
        raise bad("has 'paths' that are not a list of strings")
    began = log_time(record.get("ts")) or 0.0
    return Journal(path, began, org, clean_base_url(base_url), plan, list(paths), finished=False)


def _pending(journal: Journal, number: int, record: dict[str, Any]) -> None:
    """Fold one ``written`` record (devices written, perhaps carried from an earlier run)."""
    devices = record.get("devices")
    if not isinstance(devices, list) or not devices:
        raise journal.refuse(number, "is a 'written' record without a list of devices")
    reason = clip(visible(_text(record, "reason") or ""), REASON_LIMIT)
    carried = record.get("carried") is True
    since, interrupted = journal.began, True
    if carried:
        ts = log_time(record.get("since"))
        if ts is None or not isinstance(record.get("interrupted"), bool):
            raise journal.refuse(number, "is a carried 'written' record without 'since' and 'interrupted'")
        since, interrupted = ts, bool(record["interrupted"])
    for device in devices:
        mac = normalize_mac(device) if isinstance(device, str) else None
        if mac is None:
            raise journal.refuse(
                number, f"names {clip(visible(str(device)))!r} as a device written, not a MAC"
            )
        journal.pending[mac] = PendingPush(mac, since, interrupted, reason, number)


def _mac_of(value: Any) -> str | None:
    return normalize_mac(value) if isinstance(value, str) else None


def _fold(journal: Journal, records: list[tuple[int, dict[str, Any]]]) -> None:
    """Every record after the header, in order."""
    folding = _Folding(journal)
    for number, r in records:
        event = r.get("event")
        fold = _FOLDS.get(event) if isinstance(event, str) else None
        if fold is not None:
            fold(folding, number, r, _text(r, "step"))
    folding.settle()


@dataclass
class _Folding:
    """What folding the records learns beside the journal itself."""

    journal: Journal
    ended: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)  # a job start among them may have started its job
    answered: set[str] = field(default_factory=set)  # steps whose job start was answered (id known)
    carried: set[int] = field(default_factory=set)  # lines of pending pushes carried from an earlier run

    def end(self, number: int, r: dict[str, Any], step: str | None) -> None:
        self.journal.finished = True

    def start(self, number: int, r: dict[str, Any], step: str | None) -> None:
        pushes = r.get("pushes")
        if pushes is None:
            return
        if not isinstance(pushes, list):
            raise self.journal.refuse(number, "is a 'start' record whose 'pushes' is not a list of devices")
        if step:
            self.journal.pushes_of[step] = [m for m in map(_mac_of, pushes) if m]

    def applied(self, number: int, r: dict[str, Any], step: str | None) -> None:
        if step:
            self.journal.done.add(step)
            self.ended.add(step)

    def stopped(self, number: int, r: dict[str, Any], step: str | None) -> None:
        """A step that failed or was skipped."""
        if step:
            self.ended.add(step)
            if r.get("event") == "failed":
                self.failed.add(step)

    def job_started(self, number: int, r: dict[str, Any], step: str | None) -> None:
        if not step:
            return
        job_id = str(r.get("job_id"))
        if not _JOB_ID.match(job_id):
            raise self.journal.refuse(number, f"names a job id {clip(visible(job_id))!r} that is not one")
        self.journal.running_jobs[step] = (str(r["job_type"]), job_id, number)
        self.answered.add(step)

    def job_posting(self, number: int, r: dict[str, Any], step: str | None) -> None:
        if step:
            known = {str(k) for k in r.get("known", [])}
            self.journal.posting[step] = (str(r["job_type"]), known, dict(r.get("body") or {}), number)

    def written(self, number: int, r: dict[str, Any], step: str | None) -> None:
        _pending(self.journal, number, r)
        if r.get("carried") is True:
            self.carried.add(number)

    def pushed(self, number: int, r: dict[str, Any], step: str | None) -> None:
        devices = r.get("devices")
        if not isinstance(devices, list):
            raise self.journal.refuse(number, "is a 'pushed' record without a list of devices")
        for mac in map(_mac_of, devices):
            if mac:
                self.journal.pending.pop(mac, None)

    def settle(self) -> None:
        """What the whole log says: jobs that ended are not running, answered starts not posting,
        and the pending pushes of a run that finished were not interrupted (a push failed or was
        held)."""
        journal = self.journal
        for step in self.ended:
            journal.running_jobs.pop(step, None)
            if step not in self.failed or step in self.answered:
                journal.posting.pop(step, None)  # a failed start may have started its job: looked for
        for step in self.answered:
            journal.posting.pop(step, None)
        if journal.finished:
            for mac, item in list(journal.pending.items()):
                if item.line not in self.carried:
                    journal.pending[mac] = replace(item, interrupted=False)


_FOLDS: dict[str, Callable[[_Folding, int, dict[str, Any], str | None], None]] = {
    "end": _Folding.end,
    "start": _Folding.start,
    "applied": _Folding.applied,
    "failed": _Folding.stopped,
    "skipped": _Folding.stopped,
    "job_started": _Folding.job_started,
    "job_posting": _Folding.job_posting,
    "written": _Folding.written,
    "pushed": _Folding.pushed,
}


def read_journal(path: str, warn: Reporter | None = None) -> Journal | None:
    """The journal of the apply log at ``path`` (None when there is none). A log git tracks, or one
    whose first record is not a complete header, is refused (``ConfigError``)."""
    from reconciler.workdir.applylog import numbered_records

    if not Path(path).exists():
        return None
    refuse_tracked(path, "apply log")
    records = numbered_records(Path(path), warn)
    if not records:
        return None
    number, first = records[0]
    journal = _header(path, number, first)
    _fold(journal, records[1:])
    for item in first.get("secret_writes") or []:  # shape checked by ``numbered_records``
        if str(item.get("step")) not in journal.done:
            journal.unwritten_secrets[str(item["resource"])] = number
    return journal
