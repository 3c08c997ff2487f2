"""Loading manifests: documents, positions, identities, secrets, YAML edge cases."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.manifests import discovery
from reconciler.manifests.load import (
    available_backends,
    discover,
    has_secret,
    identity,
    load_paths,
    load_text,
    resolve_manifest_path,
    to_raw,
)
from reconciler.model import Location, Resource, SecretRef

ROOT = Path(__file__).resolve().parents[1]

DEVICE = """\
# a comment line
apiVersion: reconciler/v1
kind: Device
metadata:
  mac: "0a:1b:2c:3d:4e:5f"
spec:
  members:
    - person: alice@example.com
      port: 1
    - workspace: Front Desk
      port: 2
  settings:
    customizations:
      mpp:
        vlan: {enabled: true, value: 100}
"""


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per available YAML parser backend: results must not depend on it."""
    name: str = request.param
    monkeypatch.setenv("RECONCILER_YAML_BACKEND", name)
    return name


def load_one(text: str, file: str = "x.yaml") -> Resource:
    resources, diags = load_text(text, file)
    assert diags == []
    assert len(resources) == 1
    return resources[0]


def test_device_loads_with_positions(backend: str) -> None:
    res = load_one(DEVICE)
    assert res.kind == "Device"
    assert res.name == "0A1B2C3D4E5F"
    assert res.address == "Device/0A1B2C3D4E5F"
    assert res.metadata == {"mac": "0a:1b:2c:3d:4e:5f"}
    assert res.spec["members"][1] == {"workspace": "Front Desk", "port": 2}
    assert res.source == Location("x.yaml", 2, 1)
    pos = res.positions
    assert pos["/kind"] == Location("x.yaml", 3, 1)
    assert pos["/metadata/mac"] == Location("x.yaml", 5, 3)
    assert pos["/spec/members"] == Location("x.yaml", 7, 3)
    assert pos["/spec/members/0"] == Location("x.yaml", 8, 7)
    assert pos["/spec/members/1/port"] == Location("x.yaml", 11, 7)
    assert pos["/spec/settings/customizations/mpp/vlan/value"] == Location("x.yaml", 15, 31)
    # loc() falls back to the nearest ancestor with a position
    assert res.loc("/spec/members/1/nothing/here") == Location("x.yaml", 10, 7)


@pytest.mark.parametrize(
    "mac", ['"0A:1B:2C:3D:4E:5F"', "0a-1b-2c-3d-4e-5f", "0A1B2C3D4E5F", "0a1b2c3d4e5f", "'0A:1b:2C:3d:4E:5f'"]
)
def test_mac_forms_normalise(mac: str, backend: str) -> None:
    res = load_one(f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {mac}}}\nspec: {{}}\n")
    assert res.name == "0A1B2C3D4E5F"


def test_mac_of_digits_keeps_leading_zeros() -> None:
    # an unquoted all-digit MAC would be an integer in YAML; metadata.mac stays the written text
    res = load_one("apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 001122334455}\nspec: {}\n")
    assert res.metadata["mac"] == "001122334455"
    assert res.name == "001122334455"


def test_several_documents_and_empty_ones(backend: str) -> None:
    text = (
        "---\n# only a comment\n---\n"
        "apiVersion: reconciler/v1\nkind: Policy\nmetadata: {name: a}\nspec: {}\n"
        "---\n---\n"
        "apiVersion: reconciler/v1\nkind: OrgDeviceSettings\nmetadata: {}\nspec: {}\n...\n"
    )
    resources, diags = load_text(text, "m.yaml")
    assert diags == []
    assert [r.address for r in resources] == ["Policy/a", "OrgDeviceSettings/org"]
    assert resources[0].source == Location("m.yaml", 4, 1)
    assert resources[1].source == Location("m.yaml", 10, 1)


@pytest.mark.parametrize(
    ("kind", "metadata", "name"),
    [
        ("LineKeyTemplate", {"name": "Sales 8851"}, "Sales 8851"),
        ("LineKeyTemplateAssignment", {"name": "a"}, "a"),
        ("Policy", {"name": "p"}, "p"),
        ("Device", {"mac": "aa-bb-cc-dd-ee-ff"}, "AABBCCDDEEFF"),
        ("Device", {"mac": "not a mac"}, "not a mac"),
        ("LocationDeviceSettings", {"location": "HQ"}, "HQ"),
        ("PersonDevices", {"person": "Alice@Example.com"}, "alice@example.com"),
        ("WorkspaceDevices", {"workspace": "Lobby"}, "Lobby"),
        ("OrgDeviceSettings", {}, "org"),
        ("BackgroundImages", {"name": "org"}, "org"),
        ("Policy", {}, ""),
    ],
)
def test_identity(kind: str, metadata: dict[str, str], name: str) -> None:
    assert identity(kind, metadata) == name


def test_secret_refs(backend: str) -> None:
    res = load_one(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E5F}\n"
        "spec:\n  sipPassword: {fromEnv: RECONCILER_SECRET_SIP_PW}\n"
        "  settings:\n    customizations:\n      mpp:\n        httpProxy:\n"
        "          password:\n            fromEnv: RECONCILER_SECRET_PROXY\n"
        "          host: {fromEnv: A, other: 1}\n"
        "          username: {fromEnv: 5}\n"
    )
    assert res.spec["sipPassword"] == SecretRef("RECONCILER_SECRET_SIP_PW")
    proxy = res.spec["settings"]["customizations"]["mpp"]["httpProxy"]
    assert proxy["password"] == SecretRef("RECONCILER_SECRET_PROXY")
    assert proxy["host"] == {"fromEnv": "A", "other": 1}  # not exactly {fromEnv}: left for the schema
    assert proxy["username"] == {"fromEnv": 5}
    assert str(res.spec["sipPassword"]) == "(sensitive)"
    assert to_raw(res.spec)["sipPassword"] == {"fromEnv": "RECONCILER_SECRET_SIP_PW"}
    assert res.positions["/spec/sipPassword"] == Location("x.yaml", 5, 3)


def test_yaml_12_scalars(backend: str) -> None:
    res = load_one(
        "apiVersion: reconciler/v1\nkind: Policy\nmetadata: {name: s}\nspec:\n"
        "  a: on\n  b: yes\n  c: true\n  d: 0x1F\n  e: 0o17\n  f: 1.5e3\n  g: ~\n  h: 010\n"
        "  i: .inf\n  j: 2024-01-01\n  k: '5'\n  l: !!str 5\n  m: !!int '7'\n  n: -3\n  o: False\n  p: ''\n"
    )
    s = res.spec
    assert s["a"] == "on" and s["b"] == "yes" and s["c"] is True and s["o"] is False
    assert s["d"] == 31 and s["e"] == 15 and s["f"] == 1500.0 and s["h"] == 10 and s["n"] == -3
    assert s["g"] is None and s["p"] == ""
    assert math.isinf(s["i"])
    assert s["j"] == "2024-01-01" and s["k"] == "5" and s["l"] == "5" and s["m"] == 7


def test_anchors_aliases_and_merge_keys(backend: str) -> None:
    res = load_one(
        "apiVersion: reconciler/v1\nkind: Policy\nmetadata: {name: s}\nspec:\n"
        "  base: &base {x: 1, y: 2}\n"
        "  copy: *base\n"
        "  merged:\n    <<: *base\n    y: 3\n"
    )
    assert res.spec["copy"] == {"x": 1, "y": 2}
    assert res.spec["merged"] == {"y": 3, "x": 1}
    assert res.positions["/spec/merged/y"] == Location("x.yaml", 9, 5)


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("a: [1, 2\n", 2, 1, "invalid YAML"),
        ("a: b: c\n", 1, 5, "invalid YAML"),
        ("a: 1\na: 2\n", 2, 1, "duplicate key 'a' (first defined at line 1)"),
        ("a: *undefined\n", 1, 4, "alias *undefined"),
        ("a: !custom x\n", 1, 4, "unsupported YAML tag '!custom'"),
        ("a: !!int x\n", 1, 4, "'x' is not a valid int"),
        ("? [a, b]\n: 1\n", 1, 3, "a mapping key must be a plain string"),
        ("\tkind: Device\n", 1, 1, "invalid YAML"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", 1, 0, "nesting deeper than"),
    ],
)
def test_yaml_problems_are_diagnostics(text: str, line: int, col: int, message: str, backend: str) -> None:
    _, diags = load_text(text, "bad.yaml")
    assert diags, "expected a diagnostic"
    d = diags[0]
    assert message in d.message
    assert d.location is not None and d.location.file == "bad.yaml"
    assert d.location.line == line
    if col:
        assert d.location.col == col


def test_alias_bomb_is_stopped(backend: str) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    resources, diags = load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert resources == []
    assert len(diags) == 1 and "document too large" in diags[0].message


def test_envelope_problems() -> None:
    text = (
        "apiVersion: reconciler/v2\nkind: Policy\nmetadata: []\nspecs: {}\n---\n"
        "apiVersion: reconciler/v1\nkind: Polcy\nmetadata: {}\nspec: {}\n---\n"
        "apiVersion: reconciler/v1\nmetadata: {}\nspec: {}\n---\n"
        "just a string\n"
    )
    resources, diags = load_text(text, "e.yaml")
    assert [r.kind for r in resources] == ["Policy"]
    messages = [(d.location.line if d.location else 0, d.message) for d in diags]
    assert any(ln == 1 and "unsupported apiVersion 'reconciler/v2'" in m for ln, m in messages)
    assert any(ln == 3 and "metadata must be a mapping, not a list" in m for ln, m in messages)
    assert any(ln == 4 and "unknown field 'specs' (did you mean 'spec'?)" in m for ln, m in messages)
    assert any(ln == 1 and "missing required field 'spec'" in m for ln, m in messages)
    assert any(ln == 7 and "unknown kind 'Polcy' (did you mean 'Policy'?)" in m for ln, m in messages)
    assert any(ln == 11 and "missing required field 'kind'" in m for ln, m in messages)
    assert any(ln == 15 and "must be a mapping" in m for ln, m in messages)


def test_discover_walks_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / ".git").mkdir()
    for rel in (
        "b/2.yaml",
        "b/1.yml",
        "a/z.yaml",
        "top.YAML",
        ".git/x.yaml",
        "a/.hidden.yaml",
        "a/notes.txt",
    ):
        (tmp_path / rel).write_text("")
    files, diags = discover([tmp_path])
    assert diags == []
    found = [str(Path(f).relative_to(tmp_path)) for f in files]
    assert found == ["top.YAML", "a/z.yaml", "b/1.yml", "b/2.yaml"]
    # a file named twice (directly and through its directory) is read once
    again, _ = discover([tmp_path / "a" / "z.yaml", tmp_path / "a"])
    assert len(again) == 1


def test_discover_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files, diags = discover([tmp_path / "missing", tmp_path / "empty"])
    assert files == []
    assert [d.message.split(": ", 1)[1] for d in diags] == [
        "no such file or directory",
        "no *.yaml or *.yml files found",
    ]


def test_load_paths_keeps_given_relative_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    resources, diags = load_paths(["examples/"])
    assert diags == []
    assert resources, "examples/ has manifests"
    assert all(r.source.file.startswith("examples/") for r in resources)
    images = next(r for r in resources if r.kind == "BackgroundImages")
    assert resolve_manifest_path(images, images.spec["images"][0]["path"]).is_file()


def test_unreadable_inputs(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"a: 1\nb: caf\xe9\n")
    (tmp_path / "bom.yaml").write_bytes(
        "\ufeffapiVersion: reconciler/v1\nkind: Policy\nmetadata: {name: p}\nspec: {}\n".encode()
    )
    resources, diags = load_paths([tmp_path])
    assert [r.address for r in resources] == ["Policy/p"]
    assert len(diags) == 1
    assert diags[0].message == "not UTF-8 text"
    assert diags[0].location == Location(str(tmp_path / "latin1.yaml"), 2, 7)


def test_file_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.yaml").write_text("a: 12345678901234567890\n")
    _, diags = load_paths([tmp_path])
    assert "file too large" in diags[0].message


POLICY = "apiVersion: reconciler/v1\nkind: Policy\nmetadata: {name: p}\n"


@pytest.mark.parametrize("depth", [65, 2_000, 200_000])
def test_runaway_nesting_stops_the_file(backend: str, depth: int, tmp_path: Path) -> None:
    # Whichever parser trips first (our guard, libyaml's own limit, recursion), a user sees one
    # clear diagnostic naming the file and line, and the other files of the repo are still validated.
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * depth + "]" * depth + "\n---\nb: 1\n")
    (tmp_path / "policy.yaml").write_text(POLICY + "spec: {}\n")
    resources, diags = load_paths([tmp_path])
    assert [r.address for r in resources] == ["Policy/p"]
    assert [(d.location.file, d.location.line, d.message) for d in diags] == [
        (str(deep), 1, "nesting deeper than 64 levels; rest of the file skipped")
    ]


def test_nesting_at_the_limit_is_accepted(backend: str) -> None:
    text = POLICY + "spec: {x: " + "[" * 60 + "]" * 60 + "}\n"
    _, diags = load_text(text, "ok.yaml")
    assert all("nesting" not in d.message for d in diags), diags


def test_anchor_defined_again_is_the_one_later_aliases_use(backend: str) -> None:
    # YAML 1.2 allows it (PyYAML's composers refuse it: such a file is composed another way)
    res = load_one(POLICY + "spec:\n  a: &x [1]\n  b: *x\n  c: &x {y: 2}\n  d:\n    - *x\n  e: *x\n")
    assert res.spec == {"a": [1], "b": [1], "c": {"y": 2}, "d": [{"y": 2}], "e": {"y": 2}}
    assert res.positions["/spec/d/0"] == Location("x.yaml", 9, 7)  # where the alias is written
    assert res.positions["/spec/e/y"] == Location("x.yaml", 7, 10)  # inside the anchored node


def test_non_specific_tag_keeps_plain_text(backend: str) -> None:
    res = load_one(POLICY + "spec: {a: ! 5, b: ! true, c: 5, d: !!str 5, e: &n ! 7}\n")
    assert res.spec == {"a": "5", "b": "true", "c": 5, "d": "5", "e": "7"}


def test_recursive_alias_is_an_error(backend: str) -> None:
    _, diags = load_text("a: &x [1, *x]\n", "r.yaml")
    assert len(diags) == 1
    assert "alias *x" in diags[0].message


def test_reconcilerignore_skips_files_and_directories(tmp_path: Path) -> None:
    from reconciler.manifests.load import discover

    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "workflow.yml").write_text("on: push\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.yaml").write_text("x: 1\n")
    (tmp_path / "sub" / "keep.yaml").write_text("x: 1\n")
    (tmp_path / "top.yaml").write_text("x: 1\n")
    (tmp_path / ".reconcilerignore").write_text("# CI files are not manifests\nci/\nsub/notes.yaml\n")
    files, diags = discover([tmp_path])
    assert diags == []
    assert sorted(Path(f).relative_to(tmp_path).as_posix() for f in files) == ["sub/keep.yaml", "top.yaml"]


_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=5),
        st.builds(SecretRef, st.sampled_from(["A", "B_1"])),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


def _any_secret(value: object) -> bool:
    if isinstance(value, SecretRef):
        return True
    if isinstance(value, dict):
        return any(_any_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_any_secret(v) for v in value)
    return False


@settings(max_examples=400, deadline=None)
@given(value=_VALUES)
def test_has_secret_finds_a_secret_reference_wherever_it_is(value: object) -> None:
    assert has_secret(value) is _any_secret(value)
    assert has_secret({"outer": [value]}) is _any_secret(value)
