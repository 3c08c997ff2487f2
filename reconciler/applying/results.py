"""What an apply did: each step's result, the run's report, and its outcome (the report with the
verification plan); ``reconciler.render`` shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.planning.plan import Plan


@dataclass
class StepResult:
    step: str
    status: str  # applied | failed | skipped
    message: str = ""
    tracking_id: str | None = None
    job_id: str | None = None
    job_errors: list[str] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyReport:
    results: dict[str, StepResult] = field(default_factory=dict)
    interrupted: bool = False

    def by_status(self, status: str) -> list[StepResult]:
        return [r for r in self.results.values() if r.status == status]

    @property
    def ok(self) -> bool:
        return not self.by_status("failed") and not self.by_status("skipped") and not self.interrupted


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
