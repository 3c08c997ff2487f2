"""``fromEnv`` reads an allow-list: a manifest cannot send the tool's own credentials to the API.

- ``httpProxy.password: {fromEnv: WEBEX_ACCESS_TOKEN}`` (or any ``WEBEX_*``, or a variable no
  Policy allows and not named ``RECONCILER_SECRET_*``) is refused by ``plan`` and ``apply`` with
  the file:line, before any request;
- an allowed variable holding the token itself (a ``--token-file``'s content copied into it) is
  refused by ``apply`` before any request;
- every secret a step writes is its own plan line, naming its variable.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import EXAMPLES, TOKEN, Harness, record

ORG = Path("org") / "device-settings.yaml"


def proxy_repo(tmp: Path, variable: str, policy: str = "") -> Path:
    """The example repo whose org settings change the backlight and declare a proxy password."""
    repo = tmp / "repo"
    shutil.copytree(EXAMPLES, repo)
    org = repo / ORG
    org.write_text(
        org.read_text().replace(
            "      backlightTimer: THIRTY_MIN\n",
            f"      backlightTimer: FIVE_MIN\n      httpProxy:\n        password: {{fromEnv: {variable}}}\n",
        )
    )
    if policy:
        text = (repo / "policy.yaml").read_text()
        (repo / "policy.yaml").write_text(text.rstrip("\n") + f"\n  allowFromEnv: [{policy}]\n")
    return repo


def password_line(repo: Path) -> int:
    return next(i for i, ln in enumerate((repo / ORG).read_text().splitlines(), 1) if "password:" in ln)


@pytest.mark.parametrize("variable", ["WEBEX_ACCESS_TOKEN", "WEBEX_CLIENT_SECRET", "CI_DEPLOY_KEY"])
def test_a_variable_outside_the_allow_list_is_refused_before_any_request(
    harness: Callable[..., Harness], tmp_path: Path, variable: str
) -> None:
    h = harness()
    repo = proxy_repo(tmp_path, variable)
    env = {variable: TOKEN} if variable != "WEBEX_ACCESS_TOKEN" else {}
    for command in ("plan", "apply"):
        extra = ("--auto-approve",) if command == "apply" else ()
        r = h.run(command, str(repo), *extra, env=env)
        assert r.exit_code == 1, r.output
        assert f"{repo / ORG}:{password_line(repo)}:" in r.output, r.output
        assert f"fromEnv {variable}" in r.output and "internal error" not in r.output
        assert TOKEN not in r.output
        assert not h.perturb.seen, r.output  # nothing sent
    record(
        f"secrets: httpProxy.password from {variable}",
        result="plan and apply refuse with file:line before any request",
        requests_sent=0,
    )


def test_a_policy_allows_a_variable_but_never_a_credential(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    h = harness()
    repo = proxy_repo(tmp_path, "CI_PROXY_PASSWORD", policy="CI_PROXY_PASSWORD, WEBEX_REFRESH_TOKEN")
    r = h.run("plan", str(repo), env={"CI_PROXY_PASSWORD": "Proxy4Secret8Vv3k"})
    assert r.exit_code == 1 and "WEBEX_REFRESH_TOKEN is one of the tool's own variables" in r.output, r.output
    assert not h.perturb.seen
    repo = proxy_repo(tmp_path / "again", "CI_PROXY_PASSWORD", policy="CI_PROXY_PASSWORD")
    r = h.run("plan", str(repo), env={"CI_PROXY_PASSWORD": "Proxy4Secret8Vv3k"})
    assert r.exit_code == 0, r.output
    assert "~ customizations.mpp.httpProxy.password: (sensitive, from CI_PROXY_PASSWORD)" in r.output


def test_the_token_under_an_allowed_name_is_refused_before_any_request(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    h = harness()
    repo = proxy_repo(tmp_path, "RECONCILER_SECRET_PROXY")
    token_file = tmp_path / "token.txt"
    token_file.write_text("file-token-0123456789abcdef\n")
    env = {"RECONCILER_SECRET_PROXY": "file-token-0123456789abcdef", "WEBEX_ACCESS_TOKEN": ""}
    r = h.run("apply", str(repo), "--auto-approve", "--token-file", str(token_file), env=env)
    assert r.exit_code == 1, r.output
    assert f"{repo / ORG}:{password_line(repo)}:" in r.output
    assert "RECONCILER_SECRET_PROXY (fromEnv) is one of the tool's own credentials" in r.output
    assert "file-token-0123456789abcdef" not in r.output and "nothing was sent" in r.output
    assert not h.perturb.seen
    record(
        "secrets: the token file's content under an allowed fromEnv name",
        result="apply refuses with file:line before any request",
        requests_sent=0,
    )


def test_every_secret_write_is_a_plan_line_naming_its_variable(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    h = harness()
    repo = proxy_repo(tmp_path, "RECONCILER_SECRET_PROXY")
    env = {"RECONCILER_SECRET_PROXY": "Proxy4Secret8Vv3k"}
    r = h.run("plan", str(repo), "--out", "plan.json", env=env)
    assert r.exit_code == 0, r.output
    line = "~ customizations.mpp.httpProxy.password: (sensitive, from RECONCILER_SECRET_PROXY)"
    assert line in r.output and "Proxy4Secret8Vv3k" not in r.output
    saved = Path("plan.json").read_text()
    assert "Proxy4Secret8Vv3k" not in saved
    changes = {
        s["address"]: c
        for s in json.loads(saved)["steps"]
        for c in s["changes"]
        if c["path"].endswith("/password")
    }
    # the org's write, and those of the customized location and devices that follow the org's value
    assert "OrgDeviceSettings/org" in changes and "LocationDeviceSettings/Headquarters" in changes
    for address, change in changes.items():
        # the followers' values come from the org (a device's through its customized location)
        follows = {} if address == "OrgDeviceSettings/org" else {"follows": change.get("follows")}
        assert address == "OrgDeviceSettings/org" or str(change.get("follows")).startswith(
            ("org", "location")
        )
        # a device's change is under its settings, like its other lines
        prefix = "/settings" if address.startswith("Device/") else ""
        assert change == {
            "path": prefix + "/customizations/mpp/httpProxy/password",
            "before": "(sensitive)",
            "after": "(sensitive)",
            "sensitive": True,
            "fromEnv": "RECONCILER_SECRET_PROXY",
            **follows,
        }
    shown = h.run("show", "plan.json")
    assert shown.exit_code == 0 and line in shown.output, shown.output
    r = h.run("apply", "--plan", "plan.json", "--auto-approve", env=env)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
