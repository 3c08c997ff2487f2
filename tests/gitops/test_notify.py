"""--notify-room: drift and apply summaries reach a Webex space through the Messages API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.flows.notify import run_link
from reconciler.render.notify import MESSAGE_LIMIT, fit_message

from .conftest import EXAMPLES, ROOM, run, set_backlight

BOT = "bot-token-never-shown-0123456789"


def messages(app: Any) -> list[Any]:
    return list(app.state.sim.store.messages)


def test_drift_summary_reaches_the_room(sim: Any, applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_BOT_TOKEN", BOT)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/phones")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert run("drift", str(applied), "--notify-room", ROOM).exit_code == 0
    assert messages(sim) == []  # no drift: nothing to say
    set_backlight(sim, "0A1B2C3D4E01", "ONE_MIN")
    r = run("drift", str(applied), "--notify-room", ROOM)
    assert r.exit_code == 2, r.output
    (msg,) = messages(sim)
    assert msg.room_id == ROOM
    assert msg.markdown.startswith(f"**reconciler drift** in `{applied}`: Drift: 1 difference in 1 resource")
    assert (
        "- `Device/0A1B2C3D4E01`: 1 changed (e.g. `settings.customizations.mpp.backlightTimer`)"
        in msg.markdown
    )
    assert "Full report: https://github.example/acme/phones/actions/runs/42" in msg.markdown
    assert BOT not in r.output
    # The room's listing (GET /v1/messages) has it too.
    from .conftest import sim_request

    items = sim_request(sim, "GET", "/messages", params={"roomId": ROOM})["items"]
    assert [i["markdown"] for i in items] == [msg.markdown]


def test_apply_summary_reaches_the_room(sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_BOT_TOKEN", BOT)
    r = run("apply", str(EXAMPLES), "--auto-approve", "--notify-room", ROOM)
    assert r.exit_code == 0, r.output
    (msg,) = messages(sim)
    assert msg.room_id == ROOM
    assert msg.markdown.startswith("**reconciler apply** done for ")
    assert "0 failed, 0 skipped. Converged: live state matches the manifests." in msg.markdown
    assert BOT not in r.output


def test_a_refused_apply_is_reported_to_the_room(
    sim: Any, applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBEX_BOT_TOKEN", BOT)
    device = applied / "locations" / "headquarters" / "devices" / "0A1B2C3D4E01.yaml"
    device.write_text(device.read_text().replace("FIVE_MIN", "THIRTY_MIN"))
    out = tmp_path / "plan.json"
    assert run("plan", str(applied), "--out", str(out)).exit_code == 0
    set_backlight(sim, "0A1B2C3D4E01", "ALWAYS_ON")  # live state moves after the review
    r = run("apply", "--plan", str(out), "--auto-approve", "--notify-room", ROOM)
    assert r.exit_code == 1 and "stale" in r.output
    (msg,) = messages(sim)
    assert msg.markdown.startswith("**reconciler apply** did not run to the end: the saved plan is stale")


def test_missing_bot_token_is_a_config_error_before_any_request(sim: Any, applied: Path) -> None:
    sim.state.sim.stats.reset()
    for argv in (["drift", str(applied)], ["apply", str(applied), "--auto-approve"]):
        r = run(*argv, "--notify-room", ROOM)
        assert r.exit_code == 1
        assert (
            "Error: --notify-room needs a bot access token in the environment variable WEBEX_BOT_TOKEN"
            in r.output
        )
    assert sim.state.sim.stats.requests_total == 0


def test_a_failed_post_is_a_warning_not_the_outcome(
    sim: Any, applied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBEX_BOT_TOKEN", BOT)
    set_backlight(sim, "0A1B2C3D4E01", "ONE_MIN")
    r = run("drift", str(applied), "--notify-room", "", "--format", "json")  # empty room: no notification
    assert r.exit_code == 2 and json.loads(r.output)["drift"] is True

    from reconciler.flows import notify

    async def refuse(client: Any, room_id: str, markdown: str, token: str) -> str | None:
        return "the notification to room x was not posted: POST /messages -> 404: not a member"

    monkeypatch.setattr(notify, "post", refuse)
    r = run("drift", str(applied), "--notify-room", ROOM)
    assert r.exit_code == 2
    assert "Warning: the notification to room x was not posted" in r.output


def test_messages_are_cut_to_the_api_limit_in_bytes() -> None:
    items = [f"- `Device/{i:012X}`: 1 changed (é)" for i in range(2000)]
    text = fit_message(["**head**"], items, "- ... and {n} more resource(s)")
    assert len(text.encode("utf-8")) <= MESSAGE_LIMIT
    shown = text.count("`Device/")
    assert text.endswith(f"- ... and {2000 - shown} more resource(s)")
    assert fit_message(["short"], [], "x{n}") == "short"
    huge = fit_message(["é" * 10_000], ["a"], "and {n} more")
    assert len(huge.encode("utf-8")) <= MESSAGE_LIMIT and huge.endswith("and 1 more")


def test_run_link() -> None:
    assert run_link({}) is None
    assert run_link({"RECONCILER_RUN_URL": "https://ci/1"}) == "https://ci/1"
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}
    assert run_link(env) == "https://github.com/o/r/actions/runs/7"
