"""The parse cache (``.reconciler/parse-cache.bin``): ``validate`` says exactly the same with and
without it, a damaged, foreign or outdated cache is ignored and rebuilt, a changed file is parsed
again, and an unchanged one is not."""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import marshal
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.manifests import load as manifests
from reconciler.validation import parse_cache

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
INVALID = HERE / "manifests" / "invalid"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the examples and of every invalid fixture, validated from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.delenv(parse_cache.ENV, raising=False)
    shutil.copytree(EXAMPLES, tmp_path / "repo" / "examples")
    shutil.copytree(INVALID, tmp_path / "repo" / "invalid")
    return Path("repo")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed (not taken from the cache)."""
    seen: list[str] = []
    real = manifests.load_text

    def counting(text: str, file: str = "<string>", **kw: Any) -> Any:
        seen.append(file)
        return real(text, file, **kw)

    monkeypatch.setattr(manifests, "load_text", counting)
    return seen


def validate(monkeypatch: pytest.MonkeyPatch, *paths: str, cache: bool = True, fmt: str = "text") -> str:
    with monkeypatch.context() as m:
        if not cache:
            m.setenv(parse_cache.ENV, "off")
        result = CliRunner().invoke(main, ["validate", "--format", fmt, *paths], catch_exceptions=False)
    return f"exit {result.exit_code}\n{result.output}"


CACHE = Path(parse_cache.DEFAULT_PATH)


def test_output_identical_with_and_without_the_cache(
    repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for fmt in ("text", "json"):
        without = validate(monkeypatch, str(repo), cache=False, fmt=fmt)
        assert fmt == "json" or not CACHE.exists()
        assert "exit 1" in without and "duplicate" in without  # the invalid fixtures say so
        cold = validate(monkeypatch, str(repo), fmt=fmt)
        parses.clear()
        warm = validate(monkeypatch, str(repo), fmt=fmt)
        assert without == cold == warm
        assert parses == []  # every file came from the cache
    assert CACHE.exists() and (Path("home-cache") / "reconciler" / "parse-cache.key").exists()


def test_a_changed_file_is_parsed_again_and_only_it(
    repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    validate(monkeypatch, str(repo))
    device = repo / "examples" / "locations" / "headquarters" / "devices" / "0A1B2C3D4E01.yaml"
    device.write_text(device.read_text().replace("port: 2", "port: 99"))
    parses.clear()
    warm = validate(monkeypatch, str(repo))
    assert parses == [str(device)]
    assert warm == validate(monkeypatch, str(repo), cache=False)
    assert f"{device}:" in warm  # port 99 is out of range


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty"])
def test_a_damaged_cache_is_ignored_and_rebuilt(
    repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    expected = validate(monkeypatch, str(repo), cache=False)
    validate(monkeypatch, str(repo))
    blob = CACHE.read_bytes()
    broken = {
        "truncated": blob[: len(blob) // 2],
        "flipped": blob[:-10] + bytes([blob[-10] ^ 0xFF]) + blob[-9:],
        "garbage": b"\x00" * 100,
        "empty": b"",
    }[damage]
    CACHE.write_bytes(broken)
    parses.clear()
    assert validate(monkeypatch, str(repo)) == expected
    assert parses  # parsed again
    parses.clear()
    assert validate(monkeypatch, str(repo)) == expected
    assert parses == []  # and the rebuilt cache is used


def test_a_cache_signed_with_another_key_is_not_trusted(
    repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache committed to a repository (or made by another user) cannot smuggle in content: its
    entries may well match the files' text, but they are not what this machine's parse produced."""
    expected = validate(monkeypatch, str(repo), cache=False)
    invalid = repo / "invalid" / "bad-mac.yaml"
    fake = parse_cache.encode(str(invalid), [], [], [])  # "no manifest and no problem in this file"
    entries = {parse_cache.entry_key(str(invalid), invalid.read_text()): (1, fake)}
    body = marshal.dumps((parse_cache.fingerprint(), 1, entries))
    mac = hmac.new(b"someone else's key".ljust(32, b"!"), body, hashlib.sha256).digest()
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(parse_cache.MAGIC + mac + body)
    assert validate(monkeypatch, str(repo)) == expected
    assert str(invalid) in parses


def _other_engine(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """Make the running Python, PyYAML, libyaml or jsonschema look like another version."""
    if engine == "Python":
        monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    elif engine == "PyYAML":
        monkeypatch.setattr(yaml, "__version__", "99.0")
    elif engine == "libyaml":
        monkeypatch.setattr(yaml, "__with_libyaml__", True)
        libyaml = types.SimpleNamespace(get_version_string=lambda: "9.9.9")
        monkeypatch.setattr(yaml, "_yaml", libyaml, raising=False)
    else:
        real = importlib.metadata.version
        other = lambda name: "99" if name == engine else real(name)  # noqa: E731
        monkeypatch.setattr(importlib.metadata, "version", other)


@pytest.mark.parametrize("engine", ["Python", "PyYAML", "libyaml", "jsonschema"])
def test_a_cache_made_by_another_parser_or_checker_is_ignored(
    repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """Entries hold what PyYAML/libyaml parsed and jsonschema said, under one Python: made by other
    versions of any of them, they are not used."""
    monkeypatch.setattr(parse_cache, "_fingerprint", None)
    expected = validate(monkeypatch, str(repo))
    before = parse_cache.fingerprint()
    parses.clear()
    assert validate(monkeypatch, str(repo)) == expected and not parses  # the cache answers
    _other_engine(monkeypatch, engine)
    monkeypatch.setattr(parse_cache, "_fingerprint", None)
    assert parse_cache.fingerprint() != before
    assert validate(monkeypatch, str(repo)) == expected
    assert parses  # parsed again


def test_an_outdated_cache_is_ignored(repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = validate(monkeypatch, str(repo))
    monkeypatch.setattr(parse_cache, "_fingerprint", "another version of the parser")
    parses.clear()
    assert validate(monkeypatch, str(repo)) == expected
    assert parses


def test_a_cache_file_that_git_tracks_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Local state is never reviewed input: a committed cache is neither read nor written."""
    import subprocess

    from reconciler.validation.parse_cache import ParseCache

    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".reconciler" / "parse-cache.bin"
    cache = ParseCache.open(path)
    cache.put("a.yaml", "x", [], [], [])
    cache.save()
    assert ParseCache.open(path).entries  # read back while untracked
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "add", "-f", str(path)], check=True)
    tracked = ParseCache.open(path)
    assert tracked.path is None and not tracked.entries


def test_entries_keep_positions_exactly_and_share_repeated_strings() -> None:
    """A cache entry keeps each position as one int (line and column) where it can, and gives
    equal keys, pointers and short values one string object across entries."""
    from reconciler.model import Diagnostic, Location, Resource

    def resource(file: str) -> Resource:
        positions = {
            "/spec": Location(file, 3, 1),
            "/spec/lineType": Location(file, 70_000, 5),  # a line past 16 bits
            "/spec/wide": Location(file, 4, 70_000),  # a column past 16 bits
            "/spec/other": Location("elsewhere.yaml", 2, 9),
        }
        spec = {"lineType": "".join(["PRI", "MARY"]), "note": " ".join(["a long note"] * 10)}
        return Resource(
            kind="Device", name="d", metadata={}, spec=spec, source=Location(file, 1, 1), positions=positions
        )

    diag = Diagnostic(Location("a.yaml", 80_000, 3), "m", "Device/d", "error", "c")
    decoded = [
        parse_cache.decode(f, parse_cache.encode(f, [resource(f)], [diag], [])) for f in ("a.yaml", "b.yaml")
    ]
    for (resources, _, _), file in zip(decoded, ("a.yaml", "b.yaml"), strict=True):
        assert dict(resources[0].positions.items()) == resource(file).positions
        assert resources[0].source == Location(file, 1, 1)
    assert decoded[0][1] == [diag]
    (a,), (b,) = decoded[0][0], decoded[1][0]
    assert a.spec["lineType"] is b.spec["lineType"]
    assert next(iter(a.spec)) is next(iter(b.spec))
    assert list(a.positions)[1] is list(b.positions)[1]
    assert a.spec["note"] == b.spec["note"] and a.spec["note"] is not b.spec["note"]  # long: not interned


def test_parsed_entries_round_trip_with_and_without_secrets_and_share_strings() -> None:
    """Entries of parsed manifests (written unwalked unless they hold a secret) decode to what
    the parse gave, secrets included, with pointers and short values shared across entries."""

    def manifest(mac: str, secret: bool) -> str:
        password = "{fromEnv: SIP_SECRET}" if secret else "Str0ng-Pass-9x"
        return (
            "apiVersion: reconciler/v1\nkind: Device\nmetadata:\n"
            f"  mac: {mac}\nspec:\n  members:\n    - person: a@example.com\n      port: 1\n"
            f"      lineType: PRIMARY\n  sipPassword: {password}\n"
        )

    decoded = []
    for i, secret in enumerate((False, False, True)):
        file = f"d{i}.yaml"
        made = parse_cache._checked(manifest(f"00:11:22:33:44:5{i}", secret), file)
        back = parse_cache.decode(file, parse_cache.encode(file, *made))
        assert back == made
        assert dict(back[0][0].positions.items()) == dict(made[0][0].positions.items())
        decoded.append(back[0][0])
    a, b, c = decoded
    assert isinstance(c.spec["sipPassword"], parse_cache.SecretRef)
    assert c.spec["sipPassword"].env == "SIP_SECRET" and a.spec["sipPassword"] == "Str0ng-Pass-9x"
    assert a.spec["members"][0]["lineType"] is b.spec["members"][0]["lineType"]
    assert list(a.positions)[-1] is list(b.positions)[-1]


def test_a_large_cache_written_beside_the_next_work_is_whole_when_read(
    repo: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache past ``BACKGROUND_WRITE`` is written by a thread; the next load in the process
    waits for it (everything from the cache), and so does the process's exit."""
    monkeypatch.setattr(parse_cache, "BACKGROUND_WRITE", 0)
    first = validate(monkeypatch, str(repo))
    assert parses and parse_cache._writing  # written beside what followed the load
    parses.clear()
    assert validate(monkeypatch, str(repo)) == first
    assert parses == []  # the second load waited for the write and found every file
    CACHE.unlink()
    code = "from reconciler.validation import parse_cache as p; p.BACKGROUND_WRITE = 0; import sys; " + (
        "sys.argv = ['reconciler', 'validate', sys.argv[1]]; from reconciler.cli import console; console()"
    )
    subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, check=False)
    assert parse_cache.ParseCache.open(CACHE).entries  # whole on disk once the process ended
