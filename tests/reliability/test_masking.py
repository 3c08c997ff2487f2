"""Secrets whatever their length, the simulator's state file, and fromEnv variables checked before
the first request.

- a ``fromEnv`` value of 4 characters, echoed back by the server in a 400, appears in no output,
  log record or apply log (masked as ``***``);
- ``apply --simulate`` keeps no fromEnv value (nor a password it read back) in the state file;
- an unset ``fromEnv`` variable stops ``apply`` before its first request, naming the file:line and
  the variable; ``plan`` says so in a warning at the top of the plan;
- a secret quoted in its escaped form (``repr`` of a header value with CR/LF) is masked too.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sim.seed import add_third_party_phone
from reconciler.sim.store import secret_marker
from reconciler.webex.redact import MASK, redact, register_secret
from tests.folded import flat

from .conftest import EXAMPLES, Harness, Rule, record, route

SHORT = "Kq7x"
PHONE = "0A1B2C3D4E0B"  # a customer-managed SIP phone: the kind that takes a sipPassword
DEVICE = Path("locations") / "headquarters" / "devices" / f"{PHONE}.yaml"


def with_secret(tmp: Path) -> Path:
    repo = tmp / "repo"
    shutil.copytree(EXAMPLES, repo)
    (repo / DEVICE).write_text(
        f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {PHONE}}}\n"
        "spec:\n  sipPassword: {fromEnv: RECONCILER_SECRET_SIP_PW}\n"
    )
    return repo


def sip_harness(harness: Callable[..., Harness]) -> Harness:
    h = harness()
    add_third_party_phone(h.sim.store, PHONE, like_mac="0A1B2C3D4E03")
    return h


def secret_line(repo: Path) -> int:
    lines = (repo / DEVICE).read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1) if "RECONCILER_SECRET_SIP_PW" in ln)


def test_a_short_fromenv_value_is_masked_everywhere(
    harness: Callable[..., Harness], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A registered secret is masked whatever its length (an API error may echo it back) ...
    register_secret(SHORT, any_length=True)  # as apply registers every fromEnv value
    assert redact(f"400: sipPassword {SHORT!r} rejected") == f"400: sipPassword '{MASK}' rejected"
    # ... and a SIP password that short never reaches the API: apply refuses it before its first
    # request, naming the file and line, never the value.
    caplog.set_level(logging.DEBUG)
    h = sip_harness(harness)
    repo = with_secret(tmp_path)
    echo = h.perturb.add(Rule(route("PUT", r"/telephony/config/devices/[^/]+$"), "echo"))
    env = {"RECONCILER_SECRET_SIP_PW": SHORT}
    r = h.run("apply", str(repo), "--auto-approve", "--rotate-secrets", "--debug", env=env)
    assert r.exit_code == 1 and echo.hits == 0, r.output
    assert f"{DEVICE}:{secret_line(repo)}:" in r.output and "shorter than 8" in r.output
    artifacts = {"output": r.output, "log records": caplog.text}
    leaks = [name for name, text in artifacts.items() if SHORT in text]
    record(
        "secrets: a 4-character fromEnv sipPassword",
        result=f"refused before any request; {len(artifacts)} artifacts searched",
        secrets_leaked=len(leaks),
    )
    assert not leaks, leaks


def test_apply_simulate_keeps_no_secret_in_the_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = with_secret(tmp_path)
    secret = "Sip7Secret9Lq2xZ"
    state = tmp_path / ".reconciler" / "sim-state.json"
    env = {"RECONCILER_SECRET_SIP_PW": secret, "NO_COLOR": "1"}
    args = ["apply", str(repo), "--simulate", "--auto-approve", "--rotate-secrets"]
    r = CliRunner().invoke(main, args, env=env)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    text = state.read_text()
    assert secret not in text
    assert secret_marker(secret) in text  # the device's SIP password is there, as a digest
    json.loads(text)
    # the next run reads that state and still converges: plan has nothing to do
    r = CliRunner().invoke(main, ["plan", str(repo), "--simulate", "--detailed-exitcode"], env=env)
    assert r.exit_code == 0, r.output
    record("secrets: apply --simulate state file", result="no fromEnv value stored", secrets_leaked=0)


def test_an_unset_fromenv_stops_apply_before_the_first_request(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    h = sip_harness(harness)
    repo = with_secret(tmp_path)
    r = h.run("apply", str(repo), "--auto-approve")
    assert r.exit_code == 1, r.output
    where = f"{repo / DEVICE}:{secret_line(repo)}:"
    unset = "spec.sipPassword: environment variable RECONCILER_SECRET_SIP_PW is not set"
    assert where in r.output and unset in r.output
    assert "Traceback" not in r.output
    assert h.sim.stats.requests_total == 0 and not h.perturb.seen, r.output
    record("unset fromEnv variable on apply", result="refused with file:line", requests_sent=0)


def test_plan_warns_first_about_an_unset_fromenv(harness: Callable[..., Harness], tmp_path: Path) -> None:
    h = sip_harness(harness)
    repo = with_secret(tmp_path)
    r = h.run("plan", str(repo))
    assert r.exit_code == 0, r.output
    first = flat(r.output.split("\n\n")[0])  # the first paragraph: the warning, folded
    assert first.startswith(f"Warning: {repo / DEVICE}:{secret_line(repo)}:"), r.output
    assert "environment variable RECONCILER_SECRET_SIP_PW is not set" in first


def test_escaped_forms_of_a_secret_are_masked() -> None:
    token = "tok\r\nen-9f8e7d6c5b4a"
    register_secret(token)
    quoted = f"Illegal header value {(b'Bearer ' + token.encode())!r}"
    assert "9f8e7d6c5b4a" not in redact(quoted)
    accented = "t\u00f6ken-1a2b3c4d5e6f"
    register_secret(accented)
    assert "1a2b3c4d5e6f" not in redact(f"cannot encode {accented.encode('unicode_escape').decode()}")


def test_an_error_prints_no_raw_control_character(tmp_path: Path) -> None:
    bad = str(tmp_path / "token\rfile")  # a path (or a message) holding a CR
    r = CliRunner().invoke(main, ["plan", str(EXAMPLES), "--token-file", bad], env={"NO_COLOR": "1"})
    assert r.exit_code == 1, r.output
    assert "\r" not in r.output and "token\\rfile" in r.output, repr(r.output)


def test_a_secret_a_server_quotes_in_its_json_form_is_masked(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    """A server that quotes the request's body in its error shows a secret as the JSON text it was
    sent in (``\\"`` for a quote, ``\\\\`` for a backslash, ``\\u00f6`` for ö): masked like the value
    itself, on stdout, in ``--format json`` and in the apply log."""
    value = 'Super"Secret\\Pass<w\u00f6rd>'
    register_secret(value, any_length=True)
    for form in (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]):
        assert redact(f"body {form} tail") == f"body {MASK} tail", form
    h = harness()
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo)
    org = repo / "org" / "device-settings.yaml"
    text = org.read_text()
    org.write_text(
        text.replace(
            "      backlightTimer: THIRTY_MIN\n",
            "      backlightTimer: THIRTY_MIN\n"
            "      httpProxy:\n        password: {fromEnv: RECONCILER_SECRET_P}\n",
        )
    )
    h.perturb.add(Rule(route("POST", r"/jobs/devices/callDeviceSettings$"), "echo"))
    env = {"RECONCILER_SECRET_P": value}
    outputs = []
    for fmt in ("text", "json"):
        r = h.run("apply", str(repo), "--auto-approve", "--format", fmt, "--log", f"{fmt}.jsonl", env=env)
        assert r.exit_code == 1 and "Rejected POST" in r.output, r.output
        outputs += [r.output, Path(f"{fmt}.jsonl").read_text(encoding="utf-8")]
    for text in outputs:
        found = [text[max(0, i - 150) : i + 50] for i in (text.find("Super"), text.find("Pass<")) if i >= 0]
        assert not found, found
