"""Notifications: a drift or apply summary posted to a Webex space (Messages API, markdown).

The message is posted with a bot's token from ``WEBEX_BOT_TOKEN`` (never printed: the client
registers it for redaction). The Messages API takes at most 7,439 bytes of markdown, so every
message is cut to fit, saying how much was left out and where the rest is (the CI run, when known).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.errors import ConfigError, ReconcilerError
from reconciler.render import drift_summary_line, group_phrase, plural, summary_line
from reconciler.render.markdown import md_span, md_text
from reconciler.webex.redact import redact

if TYPE_CHECKING:
    from reconciler.flows.apply import ApplyOutcome
    from reconciler.planning.drift import DriftReport
    from reconciler.webex.client import WebexClient

BOT_TOKEN_ENV = "WEBEX_BOT_TOKEN"
MESSAGE_LIMIT = 7439  # bytes of markdown the Messages API accepts


def bot_token(environ: Mapping[str, str]) -> str:
    """The bot's token, or a ConfigError naming the variable (checked before any other work)."""
    token = (environ.get(BOT_TOKEN_ENV) or "").strip()
    if not token:
        raise ConfigError(
            f"--notify-room needs a bot access token in the environment variable {BOT_TOKEN_ENV}"
        )
    return token


def run_link(environ: Mapping[str, str]) -> str | None:
    """The CI run this is part of: ``RECONCILER_RUN_URL``, else the GitHub Actions run, else None."""
    if environ.get("RECONCILER_RUN_URL"):
        return environ["RECONCILER_RUN_URL"]
    server, repo, run_id = (
        environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run_id:
        return f"{server}/{repo}/actions/runs/{run_id}"
    return None


def fit_message(head: list[str], items: list[str], more: str, limit: int = MESSAGE_LIMIT) -> str:
    """``head`` lines, then as many ``items`` as fit in ``limit`` UTF-8 bytes, then ``more``.

    ``more`` may hold ``{n}``: the number of items left out (it is only added when some were).
    """

    def size(lines: list[str]) -> int:
        return len("\n".join(lines).encode("utf-8"))

    reserve = len(more.encode("utf-8")) + 40
    lines = list(head)
    if size(lines) + reserve > limit:  # an oversize head: cut it to what fits
        text = "\n".join(lines).encode("utf-8")[: max(0, limit - reserve)].decode("utf-8", "ignore")
        lines = [text]
    shown = 0
    for item in items:
        if size([*lines, item]) + reserve > limit:
            break
        lines.append(item)
        shown += 1
    if shown < len(items):
        lines.append(more.format(n=len(items) - shown))
    return "\n".join(lines)


def drift_message(report: DriftReport, paths: list[str], link: str | None = None) -> str:
    """``**reconciler drift**``, the counts, then one line per resource with what differs."""
    where = ", ".join(md_span(p) for p in paths)
    head = [f"**reconciler drift** in {where}: {drift_summary_line(report)}"]
    if link:
        head.append(f"Full report: {link}")
    items = []
    for resource, groups in report.by_resource().items():
        first = next(iter(groups.values()))[0]
        detail = ", ".join(group_phrase(k, v) for k, v in groups.items())
        example = f" (e.g. {md_span(first.path)})" if first.path else ""
        items.append(f"- {md_span(resource)}: {detail}{example}")
    return fit_message(head, items, "- ... and {n} more resource(s); see the full report.")


def apply_message(outcome: ApplyOutcome, link: str | None = None) -> str:
    """The apply summary: what was applied, failed, skipped; whether live state converged."""
    report = outcome.report
    applied, failed, skipped = (report.by_status(s) for s in ("applied", "failed", "skipped"))
    where = ", ".join(md_span(p) for p in outcome.plan.paths) or "a saved plan"
    verdict = ""
    if outcome.remaining is not None:
        verdict = (
            " Converged: live state matches the manifests."
            if outcome.remaining.empty
            else f" Not converged: {summary_line(outcome.remaining)}"
        )
    status = "failed" if failed or skipped else "done"
    head = [
        f"**reconciler apply** {status} for {where}: {plural(len(applied), 'step')} applied, "
        f"{len(failed)} failed, {len(skipped)} skipped.{verdict}",
        summary_line(outcome.plan),
    ]
    if link:
        head.append(f"Run: {link}")
    items = [f"- failed {md_span(r.step)}: {md_text(redact(r.message)[:300])}" for r in failed]
    items += [f"- skipped {md_span(r.step)}: {md_text(redact(r.message)[:300])}" for r in skipped]
    return fit_message(head, items, "- ... and {n} more; see the run's output and apply log.")


def error_message(command: str, error: ReconcilerError, link: str | None = None) -> str:
    head = [f"**reconciler {command}** did not run to the end: {md_text(str(error))}"]
    if link:
        head.append(f"Run: {link}")
    return fit_message(head, [], "")


async def post(client: WebexClient, room_id: str, markdown: str, token: str) -> str | None:
    """Post ``markdown`` to the room; None when posted, else a one-line warning (never raises)."""
    text = fit_message([markdown], [], "") if len(markdown.encode("utf-8")) > MESSAGE_LIMIT else markdown
    try:
        await client.post_message(room_id, text, token_override=token)
    except ReconcilerError as exc:
        return f"the notification to room {room_id} was not posted: {exc}"
    return None
