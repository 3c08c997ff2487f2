"""The Simulator: store + clock + faults + counters + auth + test hooks (``app.state.sim``)."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import jobs
from .faults import Faults, Stats
from .ids import new_uuid, normalize_mac, webex_id
from .seed import build_store
from .store import Job, Store

ACCESS_TOKEN_TTL = 1_209_600  # 14 days, as Webex integrations get
REFRESH_TOKEN_TTL = 7_776_000  # 90 days


class Simulator:
    def __init__(
        self,
        *,
        seed: str | int = "demo",
        devices: int | None = None,
        latency_ms: float = 0,
        jitter_ms: float = 0,
        rate_limit: float | None = None,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        token: str | None = None,
        state_file: str | None = None,
        job_duration_s: float = 0.5,
        base_url: str | None = None,
    ) -> None:
        self.state_file = state_file
        # Values the state file must never hold in clear (the embedding client's secrets: its
        # fromEnv values); each is saved as store.secret_marker(value). None: everything is saved as it is.
        self.keep_out: Callable[[str], bool] | None = None
        if state_file and Path(state_file).exists():
            self.store = Store.load(state_file)
        else:
            self.store = build_store(seed, devices)
            if state_file:
                self.store.save(state_file)
        self._offset = 0.0
        self.job_duration_s = job_duration_s
        self.base_url = base_url.rstrip("/") if base_url else None
        self.stats = Stats()
        self.faults = Faults(
            clock=self.monotonic,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            rate_limit=rate_limit,
            error_rate=error_rate,
            drop_rate=drop_rate,
            seed=str(seed),
        )
        self.token = token
        self.issued_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.revoked_refresh_tokens: set[str] = set()
        self.rejected_devices: set[str] = set()  # calling ids and MACs
        self._next_outcome: dict[str, dict[str, Any]] = {}
        self._rng_ids = random.Random(f"ids-{self.store.seed}-{self.store.sequence}")

    # -- clock --------------------------------------------------------------------------------
    def now(self) -> float:
        """Simulated wall-clock time (epoch seconds)."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (jobs progress, the rate-limit bucket refills)."""
        self._offset += seconds

    # -- ids ----------------------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        self.store.next_sequence()
        return webex_id(kind, new_uuid(self._rng_ids))

    @staticmethod
    def tracking_id() -> str:
        return f"SIM_{uuid.uuid4()}"

    # -- auth ---------------------------------------------------------------------------------
    def token_ok(self, value: str) -> bool:
        if not value or value in self.expired_tokens:
            return False
        if value in self.issued_tokens:
            return True
        return self.token is None or secrets.compare_digest(value, self.token)

    def expire_token(self, value: str) -> None:
        """Make this access token answer 401 from now on (to test refresh-on-401)."""
        self.expired_tokens.add(value)
        self.issued_tokens.discard(value)

    def issue_token(self, refresh_token: str) -> dict[str, Any]:
        access = f"sim-at-{secrets.token_urlsafe(24)}"
        self.issued_tokens.add(access)
        return {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": REFRESH_TOKEN_TTL,
            "token_type": "Bearer",
        }

    # -- hooks --------------------------------------------------------------------------------
    def reject_device(self, device_id_or_mac: str) -> None:
        """Writes to this device (by calling id or MAC in any format) fail with 400; jobs report it."""
        self.rejected_devices.add(device_id_or_mac)
        mac = normalize_mac(device_id_or_mac)
        if mac:
            self.rejected_devices.add(mac)

    def accept_device(self, device_id_or_mac: str) -> None:
        mac = normalize_mac(device_id_or_mac)
        self.rejected_devices.discard(device_id_or_mac)
        if mac:
            self.rejected_devices.discard(mac)

    def is_rejected(self, calling_id: str, mac: str) -> bool:
        return calling_id in self.rejected_devices or mac in self.rejected_devices

    def fail_next_job(
        self, job_type: str, exit_code: str = "FAILED", error_device_ids: list[str] | None = None
    ) -> None:
        """Make the next job of this type end FAILED or COMPLETED_WITH_ERRORS.

        ``error_device_ids``: calling ids or MACs (12 hex digits) that get error items.
        """
        if job_type not in jobs.JOB_TYPES:
            raise ValueError(f"unknown job type {job_type!r}; one of {jobs.JOB_TYPES}")
        if exit_code not in ("FAILED", "COMPLETED_WITH_ERRORS"):
            raise ValueError("exit_code must be FAILED or COMPLETED_WITH_ERRORS")
        macs = [normalize_mac(x) or x for x in (error_device_ids or [])]
        self._next_outcome[job_type] = {"exit_code": exit_code, "error_device_ids": macs}

    # -- jobs ---------------------------------------------------------------------------------
    def start_job(
        self, job_type: str, body: dict[str, Any], tracking_id: str, location_id: str | None
    ) -> Job:
        job = Job(
            id=self.new_id("JOB_ID"),
            type=job_type,
            created=self.now(),
            duration=self.job_duration_s,
            request=body,
            tracking_id=tracking_id,
            instance_id=self.store.sequence,
            location_id=location_id,
            outcome=self._next_outcome.pop(job_type, None),
        )
        job.device_count = len(jobs.targets(self.store, job))
        self.store.jobs[job.id] = job
        self.faults.made(job.id)
        self.stats.jobs_started_total += 1
        self.stats.jobs_started_by_type[job_type] += 1
        return job

    def tick(self) -> bool:
        """Progress every running job; True when one finished (state changed)."""
        changed = False
        now = self.now()
        for job in self.store.jobs.values():
            if not job.finished and jobs.advance(self.store, job, now, self.rejected_devices):
                changed = True
        return changed

    def read_job(self, job: Job) -> None:
        if jobs.advance(self.store, job, self.now(), self.rejected_devices, read=True):
            self.persist()

    # -- persistence --------------------------------------------------------------------------
    def persist(self) -> None:
        if self.state_file:
            self.store.save(self.state_file, self.keep_out)
