"""The apply log: JSON lines, one record per event of an apply, written as they happen and read
back with damaged lines told apart (``reconciler.workdir.journal`` turns the records into facts)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.localfiles import make_parent, read_local

Reporter = Callable[[str], None]
LOG_FORMAT = 2  # the apply log's records (``reconciler.workdir.journal`` reads them)


class ApplyLog:
    """JSON lines, one record per event, flushed as written. Holds no secret values.

    Every record is flushed to the OS as it is written (a killed run loses nothing). Records that
    must be on disk before the run goes on (``SYNC_NOW``: a job is POSTed right after its
    ``job_posting``) are fsynced at once; the others in groups, at most ``SYNC_INTERVAL_S`` after
    they were written (an fsync per record blocked the event loop ~1 ms each: 20,000 of them in
    an apply of 10,000 devices).
    """

    SYNC_NOW = frozenset({"begin", "end", "job_posting", "job_started"})
    SYNC_INTERVAL_S = 0.05

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None
        self._dirty = False
        self._synced = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def open(self, header: dict[str, Any], carried: list[dict[str, Any]] | None = None) -> None:
        """Start the log of a run (an earlier log is kept beside it, renamed): its ``begin`` record
        (``header``: the run's API, org, plan...), then every device an earlier run wrote and did not
        push (``carried``: ``PendingPush.to_json()`` each), still pending until pushed."""
        make_parent(self.path)
        if os.path.lexists(self.path):  # a link too, dangling or not: moved aside, never followed
            self.path.replace(self.path.with_name(f"{self.path.stem}.{int(time.time())}{self.path.suffix}"))
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        self._fh = os.fdopen(os.open(self.path, flags, 0o644), "a", encoding="utf-8")
        self.write({"event": "begin", "format": LOG_FORMAT, **header})
        for item in carried or []:
            self.write(
                {
                    "event": "written",
                    "carried": True,
                    "devices": [item["device"]],
                    "since": item["since"],
                    "interrupted": item["interrupted"],
                    "reason": item["reason"],
                }
            )

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps({"ts": round(time.time(), 3), **record}, sort_keys=True) + "\n")
        self._fh.flush()
        self._dirty = True
        if record.get("event") in self.SYNC_NOW or time.monotonic() - self._synced >= self.SYNC_INTERVAL_S:
            self.sync()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.sync()
                return
            self._timer = loop.call_later(self.SYNC_INTERVAL_S, self._sync_later)

    def _sync_later(self) -> None:
        self._timer = None
        self.sync()

    def sync(self) -> None:
        """fsync what was written and not yet synced."""
        if self._fh is not None and self._dirty:
            os.fsync(self._fh.fileno())
            self._dirty = False
            self._synced = time.monotonic()

    def close(self, finished: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fh is not None:
            if finished:
                self.write({"event": "end"})
            self.sync()
            self._fh.close()
            self._fh = None


# What each event's record must hold to be used (``_damage`` checks); other events are kept as is.
_NEEDS: dict[str, tuple[str, ...]] = {
    "applied": ("step",),
    "failed": ("step",),
    "skipped": ("step",),
    "start": ("step",),
    "job_started": ("step", "job_type", "job_id"),
    "job_posting": ("step", "job_type"),
}


def _damage(record: Any) -> str | None:
    """Why a parsed log line cannot be used, or None."""
    from reconciler.webex.jobs import JOB_PATHS

    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a record"
    event = record.get("event")
    if not isinstance(event, str):
        return "no event"
    for key in _NEEDS.get(event, ()):
        if not isinstance(record.get(key), str):
            return f"a {event} record without a valid {key!r}"
    if event in ("job_started", "job_posting") and record["job_type"] not in JOB_PATHS:
        return f"unknown job type {record['job_type']!r}"
    if event == "job_posting" and not (
        isinstance(record.get("known", []), list)
        and all(isinstance(k, str) for k in record.get("known", []))
        and isinstance(record.get("body") or {}, dict)
    ):
        return "a job_posting record with a malformed 'known' or 'body'"
    if event == "begin":
        paths, secrets = (record.get(k, []) for k in ("paths", "secret_writes"))
        if not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
            return "'paths' is not a list of strings"
        if not isinstance(secrets, list) or not all(
            isinstance(x, dict) and isinstance(x.get("resource"), str) for x in secrets
        ):
            return "'secret_writes' is malformed"
    return None


def numbered_records(path: Path, warn: Reporter | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The records of an apply log with their line numbers (none when there is no log). A line cut
    by a kill is skipped; other damaged lines (not JSON, not UTF-8, not a record, a record missing
    what it needs) are skipped with a warning to ``warn``. A damaged first record (the run's header)
    is a ``ConfigError``: finishing that run without it is not safe."""
    if not path.exists():
        return []
    records: list[tuple[int, dict[str, Any]]] = []
    lines = read_local(path, "apply log").split(b"\n")  # a regular file, size-capped
    damaged: list[str] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            if number == len(lines) or (number == len(lines) - 1 and not lines[-1]):
                continue  # the last line, cut short by a kill
            problem: str | None = f"not a JSON record ({type(exc).__name__})"
        else:
            problem = _damage(record)
        if problem is None:
            records.append((number, record))
            continue
        if not records and not damaged and (number == 1 or '"begin"' in raw.decode("utf-8", "replace")):
            raise ConfigError(
                f"apply log {path}: line {number}, the run's first record, is damaged ({problem}); "
                "it cannot be trusted to finish that run: move the file away to start afresh"
            )
        damaged.append(f"line {number}: {problem}")
    if damaged and warn is not None:
        more = f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
        warn(f"Warning: apply log {path}: ignored damaged lines ({'; '.join(damaged[:5])}{more})")
    return records


def log_records(path: Path, warn: Reporter | None = None) -> list[dict[str, Any]]:
    """The records of an apply log (``numbered_records`` without the numbers)."""
    return [record for _, record in numbered_records(path, warn)]
