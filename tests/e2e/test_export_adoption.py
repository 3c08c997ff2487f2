"""export for adoption: consistent errors for --mac, re-export owns no more than the files declare,
values YAML 1.1 readers would misread are quoted."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from ruamel.yaml import YAML

from .conftest import EXAMPLES

Cli = Callable[..., Result]


def export(cli: Cli, sim_state: Path, out: Path, *args: str) -> Result:
    return cli("export", "--out", str(out), "--simulate", "--sim-state", str(sim_state), *args)


@pytest.mark.parametrize(
    ("mac", "message"),
    [
        ("00:11", "'00:11' is not a MAC address"),
        ("zz:zz:zz:zz:zz:zz", "is not a MAC address"),
        ("00:11:22:33:44:55", "no calling device with MAC 00:11:22:33:44:55"),
    ],
)
def test_unknown_or_malformed_mac_is_an_error(
    cli: Cli, sim_state: Path, tmp_path: Path, mac: str, message: str
) -> None:
    r = export(cli, sim_state, tmp_path / "out", "--mac", mac)
    assert r.exit_code == 1, r.output
    assert message in r.stderr and "0 device(s)" not in r.output
    assert not (tmp_path / "out" / "locations").exists()
    nowhere = export(cli, sim_state, tmp_path / "out", "--location", "Nowhere")
    assert nowhere.exit_code == 1 and "no location named Nowhere" in nowhere.stderr


def test_known_mac_exports_that_device_only(cli: Cli, sim_state: Path, tmp_path: Path) -> None:
    r = export(cli, sim_state, tmp_path / "out", "--mac", "0a1b2c3d4e01", "--kind", "Device")
    assert r.exit_code == 0, r.output
    assert "1 device(s)" in r.output
    assert [p.name for p in (tmp_path / "out").rglob("devices/*.yaml")] == ["0A1B2C3D4E01.yaml"]


def _customizations(path: Path) -> dict[str, object]:
    return dict(YAML(typ="safe").load(path.read_text())["spec"]["settings"]["customizations"]["mpp"])


def test_reexport_updates_only_what_the_files_declare(cli: Cli, sim_state: Path, repo: Path) -> None:
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    device = repo / "locations" / "headquarters" / "devices" / "0A1B2C3D4E01.yaml"
    declared = _customizations(device)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    r = export(cli, sim_state, repo)
    assert r.exit_code == 0, r.output
    assert _customizations(device) == declared  # no more mpp settings than before
    assert '"0A:1B:2C:3D:4E:01"' in device.read_text()  # the file's own quoting is kept
    doc = YAML(typ="safe").load(
        (repo / "locations" / "headquarters" / "devices" / "0A1B2C3D4E04.yaml").read_text()
    )
    assert "layout" not in doc["spec"]  # a section the file does not declare is not added
    plan = cli("plan", str(repo), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output

    widened = export(cli, sim_state, repo, "--all-fields")
    assert widened.exit_code == 0
    everything = _customizations(device)
    assert set(declared) < set(everything) and len(everything) > len(declared) + 10


def test_values_yaml_1_1_would_misread_are_quoted(cli: Cli, sim_state: Path, tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML reads YAML 1.1: ON is a boolean there
    assert cli("apply", str(EXAMPLES), "--auto-approve").exit_code == 0
    out = tmp_path / "out"
    r = export(cli, sim_state, out, "--kind", "PersonDevices", "--kind", "WorkspaceDevices")
    assert r.exit_code == 0, r.output
    files = sorted(out.rglob("*.yaml"))
    assert files
    for f in files:
        compression = yaml.safe_load(f.read_text())["spec"]["settings"]["compression"]
        assert compression in ("ON", "OFF"), (f, compression)
    assert any('compression: "ON"' in f.read_text() for f in files)


def test_sexagesimal_looking_strings_are_quoted(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    from reconciler.flows.export import ExportReport, envelope, write_doc

    path = tmp_path / "d.yaml"
    write_doc(path, envelope("Device", {"mac": "12:34:56:11:22:33"}, {"x": "yes"}), None, ExportReport())
    doc = yaml.safe_load(path.read_text())
    assert doc["metadata"]["mac"] == "12:34:56:11:22:33" and doc["spec"]["x"] == "yes"
