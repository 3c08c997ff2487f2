"""``validate``: fixture folders of valid and invalid manifests, rendering, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.manifests.load import available_backends
from reconciler.render.formats import result_renderer
from reconciler.render.text import render_validation_text
from reconciler.validation.validate import validate_paths, validate_text

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path("tests/manifests")  # relative to ROOT: the paths printed in messages
EXPECT = re.compile(r"^#\s*expect:\s*(\d+):(\d+)\s+(.+?)\s*$")


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def invalid_cases() -> list[Path]:
    return sorted((ROOT / FIXTURES / "invalid").iterdir())


def expectations(case: Path) -> list[tuple[str, int, int, str]]:
    """``# expect: LINE:COL message`` on the first line of the case's file(s)."""
    files = sorted(case.rglob("*.yaml")) if case.is_dir() else [case]
    out = []
    for f in files:
        first = f.read_text(encoding="utf-8").splitlines()[0]
        m = EXPECT.match(first)
        if m:
            out.append((str(FIXTURES / f.relative_to(ROOT / FIXTURES)), int(m[1]), int(m[2]), m[3]))
    return out


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("case", invalid_cases(), ids=lambda p: p.name)
def test_invalid_fixture(case: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_YAML_BACKEND", backend)
    wanted = expectations(case)
    assert wanted, f"{case.name} carries no '# expect: LINE:COL message' first line"
    result = validate_paths([FIXTURES / "invalid" / case.name])
    assert not result.ok
    assert result.exit_code == 1
    got = [
        (d.location.file, d.location.line, d.location.col, d.message)
        for d in result.diagnostics
        if d.location
    ]
    for file, line, col, text in wanted:
        assert any(f == file and ln == line and c == col and text in m for f, ln, c, m in got), (
            f"expected {file}:{line}:{col}: ...{text}... in:\n" + render_validation_text(result)
        )
    # one mistake per file: exactly one problem reported
    assert len(result.errors) == len(wanted), render_validation_text(result)


def test_valid_fixtures() -> None:
    result = validate_paths([FIXTURES / "valid"])
    assert result.diagnostics == [], render_validation_text(result)
    assert result.ok and result.exit_code == 0
    assert len({r.kind for r in result.resources}) == 9  # every kind appears


def test_examples_validate() -> None:
    result = validate_paths(["examples/"])
    assert result.diagnostics == [], render_validation_text(result)
    assert result.files >= 20
    text = render_validation_text(result)
    assert text == f"{len(result.resources)} manifests in {result.files} files: valid\n"


def test_every_problem_is_reported_not_only_the_first() -> None:
    result = validate_text(
        "apiVersion: reconciler/v1\n"
        "kind: Device\n"
        "metadata: {mac: 'nope'}\n"
        "spec:\n"
        "  members:\n"
        "    - {person: a@example.com, port: 1, primaryOwner: true, lineType: PRIMRY}\n"
        "    - {person: b@example.com, port: 1, primaryOwner: true}\n"
        "  settings:\n"
        "    customEnabled: yes\n"
        "    customizations: {mpp: {backlightTimer: 5, vlna: {}}}\n",
        "many.yaml",
    )
    lines = render_validation_text(result).splitlines()
    assert lines[-1] == "1 manifest in 1 file: 7 errors"
    assert lines[:-1] == [
        "many.yaml:3:12: Device/nope: invalid MAC address 'nope': expected 12 hex digits written "
        "AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or AABBCCDDEEFF",
        "many.yaml:6:60: Device/nope: spec.members[0].lineType: 'PRIMRY' is not one of: PRIMARY, "
        "SHARED_CALL_APPEARANCE "
        "(did you mean 'PRIMARY'?)",
        "many.yaml:7:31: Device/nope: port 1 overlaps the member at line 6 (port 1); a member takes "
        "lineWeight ports from its port",
        "many.yaml:7:40: Device/nope: two primary owners: this member and the member at line 6; "
        "a device has one",
        "many.yaml:9:5: Device/nope: spec.settings.customEnabled: expected boolean, got string 'yes' "
        "(write true or false)",
        "many.yaml:10:28: Device/nope: spec.settings.customizations.mpp.backlightTimer: 5 is not one of: "
        "ONE_MIN, FIVE_MIN, THIRTY_MIN, ALWAYS_ON",
        "many.yaml:10:47: Device/nope: unknown field 'vlna' in spec.settings.customizations.mpp "
        "(did you mean 'vlan'?)",
    ]


def test_json_format() -> None:
    result = validate_paths([FIXTURES / "invalid" / "wrong-enum.yaml"])
    doc = json.loads(result_renderer("json").validation(result))
    assert doc["format_version"] == 1
    assert doc["valid"] is False
    assert (doc["files"], doc["manifests"], doc["errors"], doc["warnings"]) == (1, 1, 1, 0)
    [d] = doc["diagnostics"]
    assert d["file"] == "tests/manifests/invalid/wrong-enum.yaml"
    assert (d["line"], d["col"], d["severity"]) == (10, 9, "error")
    assert d["resource"] == "LocationDeviceSettings/Headquarters"
    assert "FIVE_MINUTES" in d["message"]


def test_text_format_line_shape_and_sorting() -> None:
    result = validate_paths([FIXTURES / "invalid" / "wrong-type.yaml", FIXTURES / "invalid" / "bad-mac.yaml"])
    lines = render_validation_text(result).splitlines()
    assert lines[0].startswith("tests/manifests/invalid/bad-mac.yaml:5:3: Device/0A:1B:2C:3D:4E: invalid MAC")
    assert lines[1].startswith(
        "tests/manifests/invalid/wrong-type.yaml:10:7: Device/0A1B2C3D4E01: spec.members[0].port: expected"
    )
    assert lines[2] == "2 manifests in 2 files: 2 errors"
    assert result_renderer("text").validation(result) == render_validation_text(result)
    for unknown in ("yaml", "markdown"):  # markdown renders plans, reviews and drift only
        with pytest.raises(ValueError, match="unknown format"):
            result_renderer(unknown)


def test_missing_path_is_an_error() -> None:
    result = validate_paths(["does/not/exist"])
    assert result.exit_code == 1
    assert render_validation_text(result).splitlines() == [
        "does/not/exist: no such file or directory",
        "0 manifests in 0 files: 1 error",
    ]


def test_unresolvable_from_env_is_not_a_validate_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_SECRET_NOT_SET_ANYWHERE", raising=False)
    result = validate_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\n"
        "spec: {sipPassword: {fromEnv: RECONCILER_SECRET_NOT_SET_ANYWHERE}}\n"
    )
    assert result.ok, render_validation_text(result)


def test_from_env_where_secrets_are_not_allowed() -> None:
    result = validate_text(
        "apiVersion: reconciler/v1\nkind: LineKeyTemplate\nmetadata: {name: t}\n"
        "spec:\n  deviceModel: {fromEnv: RECONCILER_SECRET_MODEL}\n"
        "  lineKeys: [{lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}]\n"
    )
    [d] = result.diagnostics
    assert d.location is not None and (d.location.line, d.location.col) == (5, 3)
    assert "expected string, got mapping" in d.message and "fromEnv" in d.message


PROXY_DOC = (
    "apiVersion: reconciler/v1\nkind: OrgDeviceSettings\nmetadata: {name: org}\nspec:\n"
    "  customizations:\n    mpp:\n      httpProxy:\n        password: {fromEnv: %s}\n"
)
POLICY_DOC = (
    "---\napiVersion: reconciler/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n  allowFromEnv: [%s]\n"
)


@pytest.mark.parametrize(
    "name",
    ["WEBEX_ACCESS_TOKEN", "WEBEX_CLIENT_SECRET", "WEBEX_REFRESH_TOKEN", "WEBEX_BOT_TOKEN", "WEBEX_ANYTHING"],
)
def test_from_env_never_reads_the_tools_own_credentials(name: str) -> None:
    # not even when a Policy lists it: the Policy's line is an error too
    result = validate_text(PROXY_DOC % name + POLICY_DOC % name)
    lines = render_validation_text(result).splitlines()
    assert not result.ok
    assert any(ln.startswith("<string>:8:9: ") and "tool's own credentials" in ln for ln in lines), lines
    assert any(ln.startswith("<string>:14:") and "fromEnv never reads it" in ln for ln in lines), lines


def test_from_env_reads_only_the_prefix_or_what_a_policy_allows() -> None:
    refused = validate_text(PROXY_DOC % "CI_DEPLOY_KEY")
    [d] = refused.errors
    assert d.location is not None and (d.location.line, d.location.col) == (8, 9)
    assert "fromEnv CI_DEPLOY_KEY is not allowed" in d.message
    assert "RECONCILER_SECRET_*" in d.message and "spec.allowFromEnv" in d.message
    assert validate_text(PROXY_DOC % "RECONCILER_SECRET_PROXY").ok
    allowed = validate_text(PROXY_DOC % "CI_DEPLOY_KEY" + POLICY_DOC % "CI_DEPLOY_KEY")
    assert allowed.ok, render_validation_text(allowed)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "layout: {template: T, layoutMode: CUSTOM}",
            "unknown field 'layoutMode' in spec.layout (allowed here: template)",
        ),
        ("layout: {lineKeys: []}", "missing required field 'layoutMode'"),
        ("{}", "declare at least one of members, layout, settings, sipPassword"),
        ("sipPassword: 1234", "expected a string or {fromEnv: NAME}, got integer 1234"),
        ("members: [{person: not-an-email, port: 1}]", "expected an email address"),
        (
            "members: [{person: a@b.c, workspace: W, port: 1}]",
            "exactly one of person, workspace or virtualLine",
        ),
        ("members: [{person: a@b.c, port: 0}]", "must be at least 1, got 0"),
        (
            "layout: {layoutMode: CUSTOM, lineKeys: [{lineKeyIndex: 1, lineKeyType: SPEED_DIAL}]}",
            "SPEED_DIAL",
        ),
        ("settings: {customizations: {dect: {}}}", "unknown field 'dect'"),
        (
            "layout: {layoutMode: CUSTOM, kemModuleType: KEM_14_KEYS, kemKeys: "
            "[{kemModuleIndex: 1, kemKeyIndex: 1, kemKeyType: OPEN}, {kemModuleIndex: 1, kemKeyIndex: 1, "
            "kemKeyType: OPEN}]}",
            "duplicate KEM key: module 1 key 1",
        ),
        (
            "layout: {layoutMode: CUSTOM, kemModuleType: KEM_14_KEYS, kemKeys: "
            "[{kemModuleIndex: 1, kemKeyIndex: 2, kemKeyType: SPEED_DIAL}]}",
            "SPEED_DIAL KEM key 1/2 needs",
        ),
    ],
)
def test_device_messages(body: str, message: str) -> None:
    result = validate_text(
        f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: 0A1B2C3D4E01}}\nspec:\n  {body}\n"
    )
    assert not result.ok
    assert any(message in d.message for d in result.diagnostics), render_validation_text(result)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("kind: OrgDeviceSettings\nmetadata: {name: acme}\nspec: {}", "must be 'org', not 'acme'"),
        ("kind: Policy\nmetadata: {name: p}\nspec: {maxChangesPercent: 150}", "must be at most 100"),
        ("kind: Policy\nmetadata: {name: p}\nspec: {concurrency: 0}", "must be at least 1"),
        (
            "kind: PersonDevices\nmetadata: {person: a@b.c}\nspec: {settings: {compression: on}}",
            "'on' is not one",
        ),
        (
            "kind: PersonDevices\nmetadata: {person: a@b.c}\nspec: {hoteling: {limitGuestUse: true}}",
            "missing required field 'enabled'",
        ),
        (
            "kind: LineKeyTemplateAssignment\nmetadata: {name: a}\nspec: {template: T, action: APPLY}",
            "'APPLY' is not one of: APPLY_TEMPLATE, APPLY_DEFAULT_TEMPLATES",
        ),
        (
            "kind: BackgroundImages\nmetadata: {}\nspec: {images: [{fileName: a, path: a.gif}]}",
            "must be a .png",
        ),
        (
            "kind: BackgroundImages\nmetadata: {}\nspec: {uploadDevice: xyz, images: []}",
            "invalid MAC address 'xyz'",
        ),
        (
            "kind: Device\nmetadata: {mac: 0A1B2C3D4E01, ignore: [settings]}\nspec: {sipPassword: x}",
            "expected a JSON pointer relative to spec",
        ),
        (
            "kind: LocationDeviceSettings\nmetadata: {location: L}\n"
            "spec: {customizations: {mpp: {usbPorts: {}}}}",
            "unknown field 'usbPorts'",
        ),
    ],
)
def test_other_kind_messages(doc: str, message: str) -> None:
    result = validate_text(f"apiVersion: reconciler/v1\n{doc}\n")
    assert not result.ok
    assert any(message in d.message for d in result.diagnostics), render_validation_text(result)


# A whole 32x16 JPEG as far as its structure goes: SOI, a frame header, a scan, EOI.
TINY_JPEG = (
    b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x10\x00\x20\x01\x01\x11\x00"
    b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x00\x00\x00\x00\xff\xd9"
)


def test_oversized_image(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"\0" * (625 * 1024 + 1))
    (tmp_path / "ok.jpeg").write_bytes(TINY_JPEG)
    (tmp_path / "images.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: BackgroundImages\nmetadata: {name: org}\nspec:\n  images:\n"
        "    - {fileName: big, path: big.png}\n"
        "    - {fileName: ok, path: ok.jpeg}\n"
        "    - {fileName: ok, path: ok.jpeg}\n"
    )
    result = validate_paths([tmp_path])
    messages = [d.message for d in result.diagnostics]
    assert len(messages) == 2
    assert "the API takes at most 625 KB" in messages[0]
    assert "duplicate fileName 'ok'" in messages[1]


def test_template_assignment_with_filters_does_not_claim_a_layout() -> None:
    result = validate_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\n"
        "spec: {layout: {template: T}}\n"
        "---\napiVersion: reconciler/v1\nkind: LineKeyTemplateAssignment\nmetadata: {name: a}\n"
        "spec: {template: T, locations: [Branch]}\n"
    )
    assert result.ok, render_validation_text(result)


def test_cli_validate_exit_codes() -> None:
    from click.testing import CliRunner

    from reconciler.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["validate", "examples/"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.endswith(": valid\n")
    bad = runner.invoke(main, ["validate", "--format", "json", str(FIXTURES / "invalid" / "bad-mac.yaml")])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["errors"] == 1


def test_plain_text_passwords_are_warnings() -> None:
    result = validate_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\n"
        "spec:\n  sipPassword: hunter2hunter2\n"
        "  settings: {customEnabled: true, customizations: {wifi: {phoneSecurityPwd: x,\n"
        "    ldap: {bindPw: {fromEnv: RECONCILER_SECRET_LDAP}}}}}\n",
        "w.yaml",
    )
    assert result.ok and result.exit_code == 0
    lines = render_validation_text(result).splitlines()
    assert lines[0] == (
        "w.yaml:5:3: Device/0A1B2C3D4E01: warning: sipPassword is written in plain text: "
        "use {fromEnv: NAME} to keep secrets out of git"
    )
    assert "phoneSecurityPwd is written in plain text" in lines[1]
    assert lines[2] == "1 manifest in 1 file: valid, 2 warnings"
