"""Values that used to pass validation and fail later (or mislead a reviewer): non-finite and
oversized numbers, floats where integers belong, oversized strings, control / zero-width / bidi
characters, and names that only look like another. Each is refused (or, for a look-alike, warned
about) with file:line and the field named, exit 1, and no request sent."""

from __future__ import annotations

import pytest

from .conftest import tally
from .hostile_cli import SimCli, refused, sim_cli

__all__ = ["sim_cli"]

TEMPLATE = """apiVersion: reconciler/v1
kind: LineKeyTemplate
metadata:
  name: {name}
spec:
  deviceModel: DMS Cisco 6871
  lineKeys:
    - lineKeyIndex: {index}
      lineKeyType: SPEED_DIAL
      lineKeyLabel: {label}
      lineKeyValue: "3100"
    - {{lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}}
"""
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata:
  mac: "0A:1B:2C:3D:4E:01"
spec:
  members:
    - person: alice@example.com
      port: {port}
  settings:
    customEnabled: true
    customizations:
      mpp:
        vlan: {{enabled: true, value: {vlan}}}
        backlightTimer: FIVE_MIN
"""
POLICY = """apiVersion: reconciler/v1
kind: Policy
metadata:
  name: default
spec:
  maxChangesPercent: {percent}
"""


def template(name: str = "Sales", index: str = "2", label: str = "Boss") -> str:
    return TEMPLATE.format(name=name, index=index, label=label)


def plan_bad(cli: SimCli, text: str) -> str:
    (cli.repo / "bad.yaml").write_text(text, encoding="utf-8")
    run = cli("plan", "repo")
    return run, run.output


@pytest.mark.parametrize(
    ("text", "line", "needles"),
    [
        (POLICY.format(percent=".inf"), 6, ["spec.maxChangesPercent", "inf is not a number the API takes"]),
        (POLICY.format(percent=".nan"), 6, ["spec.maxChangesPercent", "nan is not a number the API takes"]),
        (DEVICE.format(port="1", vlan=".nan"), 13, ["vlan.value", "nan"]),
        (DEVICE.format(port="1.0", vlan="100"), 8, ["spec.members[0].port", "expected integer", "(write 1)"]),
        (template(index="1" * 30), 8, ["spec.lineKeys[0].lineKeyIndex", "out of range"]),
        (DEVICE.format(port="1", vlan="9" * 30), 13, ["vlan.value", "out of range"]),
    ],
    ids=["inf", "nan", "nan-in-settings", "float-port", "30-digit-index", "30-digit-setting"],
)
def test_bad_numbers_are_refused(sim_cli: SimCli, text: str, line: int, needles: list[str]) -> None:
    run, _ = plan_bad(sim_cli, text)
    refused(run, f"repo/bad.yaml:{line}:", *needles)
    tally("hostile values: numbers", "refused with file:line, exit 1", requests_sent=0)


@pytest.mark.parametrize(
    ("text", "line", "field", "size"),
    [
        (template(name="S" * 1_000_000), 4, "metadata.name", 1_000_000),
        (template(label="L" * 100_000), 10, "spec.lineKeys[0].lineKeyLabel", 100_000),
        (DEVICE.format(port="1", vlan="100").replace("FIVE_MIN", "X" * 3_000_000), 14, "backlightTimer", 0),
        (POLICY.format(percent=50).replace("default", "p" * 100_000), 4, "metadata.name", 100_000),
    ],
    ids=["1MB-name", "100KB-label", "3MB-value", "100KB-policy-name"],
)
def test_oversized_strings_are_refused_and_not_echoed(
    sim_cli: SimCli, text: str, line: int, field: str, size: int
) -> None:
    run, out = plan_bad(sim_cli, text)
    refused(run, f"repo/bad.yaml:{line}:", field, "…")
    if size:
        assert f"{size:,} characters: at most" in out
    assert len(out) < 3_000, len(out)  # echoed values are cut to 80 characters
    tally("hostile values: oversized strings", "refused, values cut in the message", requests_sent=0)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Sales\r8851", "\\r"),
        ("Sales\x1b[2J", "\\x1b"),
        ("Sa\u200bles", "\\u200b"),
        ("\u202eSales", "\\u202e"),
        ("Sales\u2066x\u2069", "\\u2066"),
    ],
    ids=["CR", "ESC", "zero-width", "bidi-override", "bidi-isolate"],
)
def test_invisible_characters_in_names_are_refused(sim_cli: SimCli, name: str, shown: str) -> None:
    run, out = plan_bad(sim_cli, template(name=f'"{name.encode("unicode_escape").decode()}"'))
    refused(run, "repo/bad.yaml:4:", "metadata.name", shown, "control, zero-width or bidi characters")
    assert not any(ch in out for ch in name if not ch.isprintable()), repr(out)  # never printed raw
    tally("hostile values: invisible characters", "refused, shown escaped", requests_sent=0)


def test_invisible_characters_in_labels_and_references_are_refused(sim_cli: SimCli) -> None:
    run, _ = plan_bad(sim_cli, template(label='"Boss\\u200e"'))
    refused(run, "repo/bad.yaml:10:", "spec.lineKeys[0].lineKeyLabel", "\\u200e")
    device = DEVICE.format(port="1", vlan="100").replace("alice@example.com", '"alice@example.com\\r"')
    run, _ = plan_bad(sim_cli, device)
    refused(run, "repo/bad.yaml:7:", "spec.members[0].person", "\\r")


def test_a_control_character_in_a_setting_is_refused(sim_cli: SimCli) -> None:
    device = DEVICE.format(port="1", vlan="100")
    proxy = '        httpProxy: {mode: MANUAL, host: "proxy\\r.example.com"}\n'
    device = device.replace("      mpp:\n", "      mpp:\n" + proxy)
    (sim_cli.repo / "bad.yaml").write_text(device, encoding="utf-8")
    run = sim_cli("validate", "repo")
    assert run.result.exit_code == 1, run.output
    assert "repo/bad.yaml:13:" in run.output and "httpProxy.host" in run.output, run.output
    assert "control characters" in run.output and "\r" not in run.output and "unknown" not in run.output


def test_a_mixed_script_name_is_refused_naming_its_look_alike(sim_cli: SimCli) -> None:
    (sim_cli.repo / "sales.yaml").write_text(template(name="Sales"), encoding="utf-8")
    run, _ = plan_bad(sim_cli, template(name="S\u0430les"))  # a Cyrillic a
    refused(run, "repo/bad.yaml:4:", "mixes Latin and Cyrillic letters", "like 'Sales' (repo/sales.yaml:4:")
    tally("hostile values: look-alike names", "mixed script refused; look-alike warned", requests_sent=0)


def test_a_look_alike_name_in_one_script_is_a_warning_naming_both(sim_cli: SimCli) -> None:
    (sim_cli.repo / "sales.yaml").write_text(template(name="Sales"), encoding="utf-8")
    (sim_cli.repo / "bad.yaml").write_text(template(name="\u0405\u0430\u04cf\u0435\u0455"), encoding="utf-8")
    run = sim_cli("validate", "repo")
    assert run.result.exit_code == 0, run.output
    assert "warning" in run.output and "looks like 'Sales' (repo/sales.yaml:4:" in run.output, run.output
    run = sim_cli("plan", "repo")  # plan shows it too, first
    assert run.result.exit_code == 0, run.output
    assert run.output.startswith("Warning: repo/bad.yaml:4:"), run.output
    assert "looks like 'Sales'" in run.output


def test_names_differing_only_in_case_are_no_look_alikes(sim_cli: SimCli) -> None:
    (sim_cli.repo / "a.yaml").write_text(template(name="Sales"), encoding="utf-8")
    device = DEVICE.format(port="1", vlan="100").replace("alice@example.com", "Alice@Example.com")
    (sim_cli.repo / "b.yaml").write_text(device, encoding="utf-8")
    run = sim_cli("validate", "repo")
    assert run.result.exit_code == 0 and "looks like" not in run.output, run.output
    from reconciler.validation.inputs import skeleton

    assert skeleton("Sales") == skeleton("\u0405\u0430\u04cf\u0435\u0455") != skeleton("Sale5")


def test_limits_leave_real_values_alone(sim_cli: SimCli) -> None:
    (sim_cli.repo / "ok.yaml").write_text(
        template(name="Ventes Montréal 東京", label="Chef·fe d'équipe"), encoding="utf-8"
    )
    (sim_cli.repo / "policy.yaml").write_text(POLICY.format(percent="12.5"), encoding="utf-8")
    run = sim_cli("validate", "repo")
    assert run.result.exit_code == 0, run.output
