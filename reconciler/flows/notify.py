"""Notifications: a message posted to a Webex space (Messages API) with a bot's token.

The token comes from ``WEBEX_BOT_TOKEN`` (never printed: the client registers it for redaction);
the texts are ``reconciler.render.notify``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from reconciler.errors import ConfigError, ReconcilerError
from reconciler.flows.connect import Connection, connect, run
from reconciler.render.notify import MESSAGE_LIMIT, fit_message

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

BOT_TOKEN_ENV = "WEBEX_BOT_TOKEN"


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


async def post(client: WebexClient, room_id: str, markdown: str, token: str) -> str | None:
    """Post ``markdown`` to the room; None when posted, else a one-line warning (never raises)."""
    text = fit_message([markdown], [], "") if len(markdown.encode("utf-8")) > MESSAGE_LIMIT else markdown
    try:
        await client.post_message(room_id, text, token_override=token)
    except ReconcilerError as exc:
        return f"the notification to room {room_id} was not posted: {exc}"
    return None


def post_to_room(conn: Connection, room: str, token: str, markdown: str, say: Callable[[str], None]) -> None:
    """Post to the room; a failure to post is a warning (to ``say``), never the command's outcome."""

    async def go() -> str | None:
        async with connect(conn) as client:
            return await post(client, room, markdown, token)

    try:
        problem = run(go())
    except ReconcilerError as exc:
        problem = f"the notification to room {room} was not posted: {exc}"
    if problem:
        say(f"Warning: {problem}")
