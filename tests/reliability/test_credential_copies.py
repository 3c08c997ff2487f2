"""An allowed ``fromEnv`` variable holding the value of one of the tool's own secret variables is
refused before the first request, whichever credential it copies. Before, the bot token (which
apply-on-merge keeps in the apply step's environment for notifications) copied into
``RECONCILER_SECRET_PROXY`` was sent as the org's proxy password: readable by any admin's GET and
pushed to every phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Harness, record

VALUE = "copied-credential-0123456789abcdef"


def proxy_repo(repo: Path) -> None:
    org = repo / "org" / "device-settings.yaml"
    org.write_text(
        org.read_text().replace(
            "      lldpEnabled: true\n",
            "      lldpEnabled: true\n"
            "      httpProxy:\n        password: {fromEnv: RECONCILER_SECRET_PROXY}\n",
        )
    )


@pytest.mark.parametrize("variable", ["WEBEX_BOT_TOKEN", "RECONCILER_SIM_TOKEN"])
def test_a_copy_of_a_tool_secret_variable_is_refused_before_any_request(
    harness: Callable[..., Harness], repo: Path, variable: str
) -> None:
    h = harness()
    proxy_repo(repo)
    env = {variable: VALUE, "RECONCILER_SECRET_PROXY": VALUE}
    r = h.run("apply", str(repo), "--auto-approve", "--log", "log.jsonl", env=env)
    assert r.exit_code == 1, r.output
    assert "RECONCILER_SECRET_PROXY (fromEnv) is one of the tool's own credentials" in r.output, r.output
    assert VALUE not in r.output and "nothing was sent" in r.output
    assert not [s for s in h.perturb.seen if s.method != "GET"]
    record(f"secrets: {variable}'s value under an allowed fromEnv name", result="refused, 0 writes")
