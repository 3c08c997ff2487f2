"""Secrets: the token and every fromEnv value stay out of every artifact; transport stays safe.

A full run with secrets in the manifests (a device's sipPassword, an org proxy password, both
``fromEnv``): plan --out, apply --plan with --debug, a server that echoes the request (token and
body) in its error messages, then a plain apply that finishes. Every artifact is searched for the
token and the secret values: stdout, stderr, log records, the saved plan, every apply log (rotated
and resume logs too) and the text of every exception raised. The simulator may hold them: it is
the server.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sim.app import create_app
from reconciler.sim.seed import add_third_party_phone
from reconciler.webex.transport import EngineTransport

from .conftest import EXAMPLES, TOKEN, Harness, Perturb, Rule, record, route

SIP_PW = "Sip7Secret9Lq2xZ"
PROXY_PW = "Proxy4Secret8Vv3k"
PROXY_USER = "proxy-user-name"
PHONE = "0A1B2C3D4E0B"


def secret_repo(tmp: Path) -> Path:
    repo = tmp / "repo"
    shutil.copytree(EXAMPLES, repo)
    # A customer-managed SIP phone (the only kind that takes a sipPassword): see the test.
    (repo / "locations" / "headquarters" / "devices" / f"{PHONE}.yaml").write_text(
        f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {PHONE}}}\n"
        "spec:\n  sipPassword: {fromEnv: RECONCILER_SECRET_SIP_PW}\n"
    )
    org = repo / "org" / "device-settings.yaml"
    org.write_text(
        org.read_text().replace(
            "      lldpEnabled: true\n",
            "      lldpEnabled: true\n"
            "      httpProxy:\n"
            "        mode: MANUAL\n"
            "        host: proxy.example.com\n"
            '        port: "3128"\n'
            "        authSettingsEnabled: true\n"
            f"        username: {PROXY_USER}\n"
            "        password: {fromEnv: RECONCILER_SECRET_PROXY}\n",
        )
    )
    return repo


def test_no_secret_in_any_artifact(
    harness: Callable[..., Harness], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness()
    add_third_party_phone(h.sim.store, PHONE, like_mac="0A1B2C3D4E03")
    repo = secret_repo(tmp_path)
    env = {"RECONCILER_SECRET_SIP_PW": SIP_PW, "RECONCILER_SECRET_PROXY": PROXY_PW}
    saved = tmp_path / "plan.json"
    logs = tmp_path / "logs"
    log = logs / "apply.jsonl"
    texts: list[str] = []
    exceptions: list[str] = []

    def run(*args: str) -> int:
        r = h.run(*args, env=env)
        texts.extend([r.output, r.stderr if r.stderr_bytes is not None else ""])
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            exceptions.append(repr(r.exception))
        assert "Traceback" not in r.output and "internal error" not in r.output, r.output
        return r.exit_code

    # Not a git checkout and no --baseline: the secret is written when asked for.
    assert run("plan", str(repo), "--rotate-secrets", "--out", str(saved), "--debug") == 0
    assert run("plan", str(repo), "--format", "json") == 0
    # The server rejects the SIP password PUT, echoing the request (token, body) in its message,
    # and drops the first answer to the org settings job (so its body is looked for on the list).
    echo = h.perturb.add(Rule(route("PUT", r"/telephony/config/devices/[^/]+$"), "echo", times=1))
    h.perturb.add(Rule(route("POST", r"/callDeviceSettings$"), "lose", times=1))
    code = run("apply", "--plan", str(saved), "--auto-approve", "--debug", "--log", str(log))
    assert echo.hits == 1 and code == 1
    assert "Rejected PUT" in texts[-2] + texts[-1]  # the server's message is shown, masked
    device = next(d for d in h.sim.store.devices.values() if d.mac == PHONE)
    assert device.sip_password != SIP_PW
    # The re-run plans the write-only secret whose write failed again, from the apply log (the API
    # never returns it, so the plan alone cannot see that it differs).
    assert run("apply", str(repo), "--auto-approve", "--debug", "--log", str(log)) == 0
    assert "third-party SIP password: the last apply planned it but did not write it: applied" in texts[-2]
    assert device.sip_password == SIP_PW
    # Now written: a further run does not write it again; --rotate-secrets does.
    device.sip_password = "changed-elsewhere"
    assert run("apply", str(repo), "--auto-approve", "--log", str(log)) == 0
    assert device.sip_password == "changed-elsewhere"
    rotate = tmp_path / "rotate.json"
    assert run("plan", str(repo), "--rotate-secrets", "--out", str(rotate)) == 0
    assert run("apply", "--plan", str(rotate), "--auto-approve", "--log", str(log)) == 0
    # The secrets did reach the server (that is where they belong).
    assert device.sip_password == SIP_PW
    assert h.sim.store.org_customizations["mpp"]["httpProxy"]["password"] == PROXY_PW

    artifacts: dict[str, str] = {
        "stdout/stderr": "\n".join(texts),
        "log records": caplog.text + "\n".join(str(r.__dict__) for r in caplog.records),
        "saved plan": saved.read_text(),
        "saved plan (--rotate-secrets)": rotate.read_text(),
        "exceptions": "\n".join(exceptions),
    }
    for f in sorted(logs.iterdir()):
        artifacts[f"apply log {f.name}"] = f.read_text()
    assert len([k for k in artifacts if k.startswith("apply log")]) >= 2  # rotated logs searched too
    saved_plan = artifacts["saved plan"]
    assert "RECONCILER_SECRET_SIP_PW" in saved_plan and "RECONCILER_SECRET_PROXY" in saved_plan
    assert "***" in artifacts["stdout/stderr"]  # the echoed token and password were masked
    assert " -> " in artifacts["log records"]  # --debug logged every request
    leaks = {name: [s for s in (TOKEN, SIP_PW, PROXY_PW) if s in text] for name, text in artifacts.items()}
    leaked = sum(len(v) for v in leaks.values())
    record(
        "secrets: token + 2 fromEnv secrets over a full run (plan --out, apply --plan, --debug, "
        "an API error echoing the request, a lost job answer, a re-run)",
        result=f"{len(artifacts)} artifacts searched",
        secrets_leaked=leaked,
    )
    assert leaked == 0, {k: v for k, v in leaks.items() if v}


@pytest.mark.parametrize(
    "url", ["http://webexapis.example.com/v1", "http://10.1.2.3:8080/v1", "http://[2001:db8::1]/v1"]
)
def test_plain_http_to_a_remote_host_is_refused(url: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        main, ["plan", str(EXAMPLES), "--base-url", url], env={"WEBEX_ACCESS_TOKEN": TOKEN}
    )
    assert r.exit_code == 1, r.output
    assert "refusing plain-http base URL" in r.output and TOKEN not in r.output
    r = CliRunner().invoke(
        main, ["plan", str(EXAMPLES)], env={"WEBEX_ACCESS_TOKEN": TOKEN, "WEBEX_BASE_URL": url}
    )
    assert r.exit_code == 1 and "refusing plain-http base URL" in r.output, r.output
    record(f"plain http to {url}", result="refused before any request (exit 1)", secrets_leaked=0)


def test_tls_verification_is_on() -> None:
    from reconciler.webex.client import make_client

    client = make_client("https://webexapis.com/v1", None, None, 4, environ={"WEBEX_ACCESS_TOKEN": TOKEN})
    transport = client._http._transport
    assert isinstance(transport, EngineTransport)  # also with a proxy in the environment
    ctx = transport.ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_an_untrusted_certificate_is_refused_at_once(tls_files: tuple[Path, Path]) -> None:
    """A TLS server with a self-signed certificate: refused without a retry and without a request
    reaching it; trusted once SSL_CERT_FILE names the certificate (verification stays on)."""
    cert, key = tls_files
    perturb = Perturb(create_app(seed="demo", job_duration_s=0.05))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        perturb, log_level="critical", lifespan="off", ssl_certfile=str(cert), ssl_keyfile=str(key)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        url = f"https://127.0.0.1:{port}/v1"
        started = time.monotonic()
        r = CliRunner().invoke(
            main, ["plan", str(EXAMPLES), "--base-url", url], env={"WEBEX_ACCESS_TOKEN": TOKEN}
        )
        took = time.monotonic() - started
        assert r.exit_code == 1, r.output
        assert "TLS certificate is not trusted" in r.output and "Traceback" not in r.output, r.output
        assert took < 5 and not perturb.seen, (took, len(perturb.seen))
        r = CliRunner().invoke(
            main,
            ["plan", str(EXAMPLES), "--base-url", url],
            env={"WEBEX_ACCESS_TOKEN": TOKEN, "SSL_CERT_FILE": str(cert)},
        )
        assert r.exit_code == 0, r.output
        record(
            "TLS: a certificate not trusted",
            result="refused at once, no retry, no request reached the server (exit 1); "
            "accepted with SSL_CERT_FILE",
            secrets_leaked=0,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
