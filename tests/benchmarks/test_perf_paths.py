"""The fast paths added for big plans behave exactly as the plain code they replace."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.flows import connect as flows_connect
from reconciler.flows import load as flows_load
from reconciler.flows import make as flows_make
from reconciler.model import SecretRef
from reconciler.planning.diff import (
    _MISSING,
    FieldChange,
    _ignored,
    contains_secret,
    diff_declared,
    equal,
    get_pointer,
    leaves,
    merge_declared,
    set_pointer,
)
from reconciler.planning.kinds import context as context_module
from reconciler.planning.kinds.context import VOLATILE, Context, Policy, answer_digest, strip_volatile
from reconciler.planning.plan import digest, digest_json
from reconciler.planning.planner import run_bounded
from reconciler.webex import answers as answers_module
from reconciler.webex.errors import BadAnswer
from reconciler.workdir.applylog import ApplyLog


def _values(rng: random.Random, depth: int = 0, secrets: bool = True) -> Any:
    r = rng.random()
    if depth > 3 or r < 0.25:
        scalars: list[Any] = [1, 1.0, 1e16, "x", "é", None, [1, 2], [{"a": 1}], True, False, {}]
        return rng.choice([*scalars, SecretRef("E")] if secrets else scalars)
    if r < 0.35:
        return [_values(rng, depth + 1, secrets) for _ in range(rng.randint(0, 3))]
    keys = ["a", "b", "a/b", "~c", "0", "1", "ip", "lastSeen"]
    return {rng.choice(keys): _values(rng, depth + 1, secrets) for _ in range(rng.randint(0, 4))}


def _old_diff(desired: Any, live: Any, ignore: list[str], prefix: str) -> list[FieldChange]:
    changes = []
    for pointer, want in leaves(desired):
        if _ignored(pointer, ignore) or contains_secret(want):
            continue
        have = get_pointer(live, pointer, _MISSING)
        have = None if have is _MISSING else have
        if not equal(want, have):
            changes.append(FieldChange(prefix + pointer, have, want))
    return changes


def _old_merge(live: dict[str, Any], desired: dict[str, Any], ignore: list[str]) -> dict[str, Any]:
    out = copy.deepcopy(live)
    for pointer, want in leaves(desired):
        if pointer and not _ignored(pointer, ignore):
            set_pointer(out, pointer, copy.deepcopy(want))
    return out


def test_diff_and_merge_match_the_plain_versions() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        desired, live = _values(rng), _values(rng)
        desired = desired if isinstance(desired, dict) else {"a": desired}
        ignore = rng.choice([[], ["/a"], ["/a/b"], ["/0"], ["/a~1b"]])
        assert diff_declared(desired, live, ignore, "/p") == _old_diff(desired, live, ignore, "/p")
        if isinstance(live, dict):
            before = repr(live)
            assert merge_declared(live, desired, ignore) == _old_merge(live, desired, ignore)
            assert repr(live) == before  # live is never changed


def test_merge_shares_what_no_declared_leaf_touches() -> None:
    live = {"customEnabled": False, "customizations": {"mpp": {"vlan": {"value": 1}}, "ata": {"x": 1}}}
    body = merge_declared(live, {"customEnabled": True})
    assert body["customizations"] is live["customizations"]
    body = merge_declared(live, {"customizations": {"mpp": {"vlan": {"value": 2}}}})
    assert body["customizations"]["ata"] is live["customizations"]["ata"]
    assert live["customizations"]["mpp"]["vlan"]["value"] == 1


def _revalued(value: Any, n: int) -> Any:
    """``value`` with every volatile field's scalar value replaced."""
    if isinstance(value, dict):
        return {
            k: (n if k in VOLATILE and (v is None or isinstance(v, str | int | float)) else _revalued(v, n))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_revalued(v, n) for v in value]
    return value


def test_answer_digests_change_with_everything_but_volatile_values() -> None:
    rng = random.Random(12)
    checked_bytes = 0
    for _ in range(3000):
        value = _values(rng, secrets=False)
        assert digest_json(value) == digest(value)
        if not isinstance(value, dict):
            continue
        assert answer_digest(value) == digest(strip_volatile(value))  # no bytes: canonical JSON
        for dump in (json.dumps, functools.partial(json.dumps, ensure_ascii=False)):
            raw = dump(value).encode()
            same = dump(_revalued(value, 7)).encode()
            if (b"\\" in raw) == (b"\\" in same):  # an escape only in a volatile value: another way
                assert answer_digest(json.loads(same), same) == answer_digest(value, raw)
            changed = dump({**value, "zz": 1}).encode()
            assert answer_digest(json.loads(changed), changed) != answer_digest(value, raw)
            checked_bytes += b"\\" not in raw
    assert checked_bytes > 1000  # most went the bytes way (no escapes)


@pytest.mark.parametrize(
    "answer",
    [
        {"customizations": {"mpp": {}}, "lastUpdateTime": 1, "deviceCount": 3},
        {"customizations": {"mpp": {"lastSeen": 5}}, "lastUpdateTime": 1},  # nested
        {"name": "ip", "ip": "10.0.0.1"},  # the name as a value too
        {"a": {"ip": 1}, "b": "é"},
    ],
)
def test_answer_digest_leaves_volatile_values_out_wherever_they_are(answer: dict[str, Any]) -> None:
    for dump in (json.dumps, functools.partial(json.dumps, ensure_ascii=False)):
        raw, other = dump(answer).encode(), dump(_revalued(answer, 123)).encode()
        assert answer_digest(answer, raw) == answer_digest(json.loads(other), other)


def test_answer_digest_of_an_escaped_key() -> None:
    raw = b'{"a": {"\\u0069p": 1}, "lastSeen": 2}'  # "ip" written with an escape: no byte match
    answer = json.loads(raw)
    assert answer == {"a": {"ip": 1}, "lastSeen": 2}
    assert answer_digest(answer, raw) == digest({"a": {}})


class _Answers:
    """Answers each path with the JSON given for it, at the path itself (as the API would)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.concurrency = 4

    async def request(self, method: str, path: str, params: Any = None) -> httpx.Response:
        content = json.dumps(self.answers[path]).encode()
        return httpx.Response(200, content=content, request=httpx.Request(method, f"http://x/v1{path}"))


async def test_equal_settings_answers_share_their_customizations() -> None:
    same = {"customEnabled": False, "customizations": {"mpp": {"vlan": {"value": 1}}}, "lastUpdateTime": 1}
    nested = {"customEnabled": False, "customizations": {"mpp": {"ip": "a"}}}
    answers = {
        "/a": same,
        "/b": {**same, "lastUpdateTime": 2},
        "/c": nested,
        "/d": {**nested, "customizations": {"mpp": {"ip": "b"}}},
    }
    ctx = Context(client=_Answers(answers), resources=[], policy=Policy())  # type: ignore[arg-type]
    a, b, c, d = [await ctx.get(p) for p in ("/a", "/b", "/c", "/d")]
    assert a["customizations"] is b["customizations"] and a["lastUpdateTime"] != b["lastUpdateTime"]
    assert ctx.reads["GET /a"] == ctx.reads["GET /b"]
    # equal digests, different (volatile) nested values: not shared
    assert ctx.reads["GET /c"] == ctx.reads["GET /d"]
    assert c["customizations"]["mpp"]["ip"] == "a" and d["customizations"]["mpp"]["ip"] == "b"


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes of every answer parsed from now on."""
    parsed: list[bytes] = []
    real = answers_module.answer_json

    def counting(resp: httpx.Response) -> Any:
        parsed.append(resp.content)
        return real(resp)

    monkeypatch.setattr(answers_module, "answer_json", counting)
    return parsed


async def test_equal_answer_bytes_are_parsed_once_and_still_checked_for_each_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = {"customEnabled": False, "customizations": {"mpp": {"vlan": {"value": 1}}}}
    base = "/telephony/config/devices"
    answers: dict[str, Any] = {f"{base}/{d}/settings": settings for d in "ABC"}
    answers[f"{base}/D/members"] = settings  # the same bytes where a members list is expected
    for d in "EFG":
        answers[f"{base}/{d}/members"] = {"members": [{"id": d}], "model": "X"}
    parsed = count_parses(monkeypatch)
    monkeypatch.setattr(context_module, "ANSWER_CACHE_PER_PATH", 2)
    ctx = Context(client=_Answers(answers), resources=[], policy=Policy())  # type: ignore[arg-type]
    a, b, c = [await ctx.get(f"{base}/{d}/settings") for d in "ABC"]
    assert a is b is c and len(parsed) == 1
    assert ctx.reads[f"GET {base}/A/settings"] == ctx.reads[f"GET {base}/C/settings"]
    with pytest.raises(BadAnswer, match="no 'members' field"):
        await ctx.get(f"{base}/D/members")
    for d in "EFG":
        assert (await ctx.get(f"{base}/{d}/members"))["members"] == [{"id": d}]
    # at most 2 distinct answers kept per kind of path: the third members answer is not kept
    assert ctx.answer_counts == {"settings": 1, "members": 2} and len(ctx.answers) == 3
    await ctx.get(f"{base}/G/members")
    assert len(parsed) == 5  # A, E, F, G, and G again (not kept); D was a cache hit, then refused


async def test_answers_alike_but_for_volatile_values_share_one_parse_and_keep_their_own_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = "/telephony/config/devices"
    mpp = {"vlan": {"value": 1}}
    answers: dict[str, Any] = {
        f"{base}/{d}/settings": {"customizations": {"mpp": mpp}, "lastUpdateTime": i, "deviceCount": 1}
        for i, d in enumerate("ABC")
    }
    for i, d in enumerate("DE"):  # a volatile field below the top level: each answer parsed alone
        nested = {"mpp": {**mpp, "lastSeen": i}}
        answers[f"{base}/{d}/settings"] = {"customizations": nested, "lastUpdateTime": 1}
    parsed = count_parses(monkeypatch)
    ctx = Context(client=_Answers(answers), resources=[], policy=Policy())  # type: ignore[arg-type]
    a, b, c, d, e = [await ctx.get(f"{base}/{x}/settings") for x in "ABCDE"]
    assert [x["lastUpdateTime"] for x in (a, b, c)] == [0, 1, 2] and len(parsed) == 3
    assert a["customizations"] is b["customizations"] is c["customizations"]
    assert d["customizations"]["mpp"]["lastSeen"] == 0 and e["customizations"]["mpp"]["lastSeen"] == 1
    assert len({ctx.reads[f"GET {base}/{x}/settings"] for x in "ABC"}) == 1
    assert ctx.reads[f"GET {base}/D/settings"] == ctx.reads[f"GET {base}/E/settings"]


def test_plans_are_the_same_with_and_without_the_answer_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to every device of a generated org plans the same steps, reads and checksums when
    equal answers share one parsed object as when every answer is parsed on its own."""
    from click.testing import CliRunner

    from benchmarks import harness
    from reconciler.cli import main
    from reconciler.cli import options as cli_module
    from reconciler.sim.app import create_app

    app = create_app(seed=2, devices=150, job_duration_s=0)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: flows_connect.Connection(sim_app=app))
    kinds = ["LineKeyTemplate", "Device", "LocationDeviceSettings", "OrgDeviceSettings"]
    args = ["export", "--out", str(tmp_path / "org")] + [a for k in kinds for a in ("--kind", k)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    _plan_repo, change_repo, devices = harness.prepare_repos(tmp_path / "org", tmp_path / "work")
    parsed = count_parses(monkeypatch)

    def plan_with(limit: int) -> tuple[str, int]:
        monkeypatch.setattr(context_module, "ANSWER_CACHE_PER_PATH", limit)
        parsed.clear()

        async def go() -> Any:
            async with flows_connect.connect(flows_connect.Connection(sim_app=app)) as client:
                return await flows_make.make_plan(client, [str(change_repo)])

        plan = asyncio.run(go())
        assert len([s for s in plan.steps if s.address.endswith(".settings")]) == devices
        return json.dumps(plan.to_json(), sort_keys=True), len(parsed)

    shared, parsed_shared = plan_with(1024)
    alone, parsed_alone = plan_with(0)
    assert shared == alone
    assert parsed_shared < parsed_alone * 0.8, (parsed_shared, parsed_alone)


async def test_run_bounded_runs_every_job_with_a_bounded_number_in_flight() -> None:
    running, peak, done = 0, 0, []

    def job(i: int) -> Any:
        async def run() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            running -= 1
            done.append(i)

        return run

    await run_bounded([job(i) for i in range(50)], 7)
    assert sorted(done) == list(range(50)) and peak == 7
    await run_bounded([], 7)


def _write(tmp: Path, name: str, text: str) -> None:
    (tmp / name).write_text(text, encoding="utf-8")


DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata:
  mac: "0A:1B:2C:3D:4E:{n}"
spec:
  settings:
    customEnabled: {value}
"""


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for each load of manifests (``validate_paths``) from now on."""
    calls: list[int] = []
    real = __import__("reconciler.validation.validate", fromlist=["validate_paths"]).validate_paths

    def counting(paths: Any) -> Any:
        calls.append(1)
        return real(paths)

    monkeypatch.setattr("reconciler.validation.validate.validate_paths", counting)
    return calls


def test_load_reuses_unchanged_manifests_and_rereads_changed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_loads(monkeypatch)
    flows_load._last_load.clear()
    _write(tmp_path, "a.yaml", DEVICE.format(n="01", value="true"))
    st = os.stat(tmp_path / "a.yaml")
    written = max(st.st_mtime_ns, st.st_ctime_ns)
    # files written just now (10 ms ago, whatever the first load's imports take) may change again
    # within the clock's granularity: never reused
    monkeypatch.setattr(flows_load.time, "time_ns", lambda: written + 10_000_000)
    flows_load.load([str(tmp_path)])
    flows_load.load([str(tmp_path)])
    assert len(calls) == 2
    # a fraction of a second later, on a file system with fine timestamps, they are reused (a
    # fresh checkout within one run); with whole-second ones (FAT) not before 2 s
    soon = written + 300_000_000
    monkeypatch.setattr(flows_load.time, "time_ns", lambda: soon)
    fine = os.stat(tmp_path / "a.yaml").st_ctime_ns % 1_000_000_000 != 0
    flows_load.load([str(tmp_path)])
    flows_load.load([str(tmp_path)])
    assert len(calls) == (3 if fine else 4)
    calls[:] = [1, 1]
    flows_load._last_load.clear()
    # seen from a few seconds later, the same files are reused
    later = flows_load.time.time_ns() + 5_000_000_000
    monkeypatch.setattr(flows_load.time, "time_ns", lambda: later)
    first = flows_load.load([str(tmp_path)])
    again = flows_load.load([str(tmp_path)])
    assert len(calls) == 3 and again == first and again is not first
    _write(tmp_path, "a.yaml", DEVICE.format(n="01", value="false"))
    later += 5_000_000_000
    changed = flows_load.load([str(tmp_path)])
    assert len(calls) == 4 and changed[0].spec["settings"]["customEnabled"] is False
    _write(tmp_path, "b.yaml", DEVICE.format(n="02", value="false"))
    later += 5_000_000_000
    assert len(flows_load.load([str(tmp_path)])) == 2 and len(calls) == 5
    # what an apply writes under the repository while it runs (its log, the parse cache) is in a
    # hidden directory, which holds no manifest: the next load is the same one
    (tmp_path / ".reconciler").mkdir()
    later += 5_000_000_000
    assert len(flows_load.load([str(tmp_path)])) == 2 and len(calls) == 6  # (the root changed)
    (tmp_path / ".reconciler" / "apply-log.jsonl").write_text("{}\n")
    later += 5_000_000_000
    assert len(flows_load.load([str(tmp_path)])) == 2 and len(calls) == 6
    # a command that loads once (plan) neither walks the tree for a digest nor keeps the load
    flows_load._last_load.clear()
    monkeypatch.setattr(flows_load, "_files_digest", lambda paths: pytest.fail("walked"))
    assert len(flows_load.load_checked([str(tmp_path)], once=True)[0]) == 2 and len(calls) == 7
    assert flows_load._last_load == {}


def test_a_plan_loads_its_manifests_once_with_or_without_concurrency_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--concurrency`` a plan first reads the Policy's (a load of every manifest); the
    plan's own load is then that one again, not a second parse."""
    from click.testing import CliRunner

    from reconciler.cli import main

    calls = _count_loads(monkeypatch)
    later = flows_load.time.time_ns() + 5_000_000_000  # (files written in this test: not racy then)
    monkeypatch.setattr(flows_load.time, "time_ns", lambda: later)
    _write(tmp_path, "a.yaml", DEVICE.format(n="01", value="true"))
    for extra in ([], ["--concurrency", "4"]):
        flows_load._last_load.clear()
        calls.clear()
        result = CliRunner().invoke(main, ["plan", str(tmp_path), "--simulate", *extra])
        assert result.exit_code in (0, 1, 2), result.output
        assert len(calls) == 1, (extra, result.output)
    flows_load._last_load.clear()


async def test_apply_log_syncs_job_records_at_once_and_the_rest_in_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr("reconciler.workdir.applylog.os.fsync", lambda fd: synced.append(fd))
    log = ApplyLog(tmp_path / "log.jsonl")
    log.open({"plan": "x"})
    assert len(synced) == 1
    for i in range(100):
        log.write({"event": "start", "step": f"s{i}"})
    assert len(synced) <= 2  # grouped
    log.write({"event": "job_posting", "step": "j"})
    n = len(synced)
    assert n >= 2
    log.write({"event": "applied", "step": "s0"})
    await asyncio.sleep(ApplyLog.SYNC_INTERVAL_S * 3)
    assert len(synced) == n + 1  # the timer synced the last record
    log.close(finished=True)
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 104 and json.loads(lines[-1])["event"] == "end"


def _old_device_settings_view(store: Any, device: Any) -> dict[str, Any]:
    from reconciler.sim import defaults, device_settings, telephony

    family = telephony.get_model(device).family
    if device.settings is not None:
        customizations = {family: copy.deepcopy(device.settings[family])}
        updated = device.settings_updated
    else:
        loc = store.locations[device.location_id]
        inherited = device_settings.location_customizations(store, loc)[family]
        customizations = {family: defaults.deep_merge(defaults.family_default(family), inherited)}
        updated = loc.settings_updated or store.org_settings_updated
    return {
        "customizations": customizations,
        "customEnabled": device.settings is not None,
        "updateInProgress": False,
        "deviceCount": 1,
        "lastUpdateTime": updated,
    }


@pytest.mark.parametrize("seed", [1, 2, "demo"])
def test_simulator_settings_answers_are_unchanged(seed: int | str) -> None:
    from reconciler.sim import device_settings, telephony
    from reconciler.sim.app import create_app

    store = create_app(seed=seed, devices=None if seed == "demo" else 400).state.sim.store
    first = next(iter(store.locations.values()))
    first.custom_enabled, first.customizations = True, {"mpp": {**store.org_customizations["mpp"], "pnac": 1}}
    snapshot = json.dumps(
        [store.org_customizations, [(d.settings, d.location_id) for d in store.devices.values()]], default=str
    )
    for device in store.devices.values():
        new = device_settings.device_settings_view(store, device)
        if not telephony.get_model(device).phone_settings:  # a third-party SIP phone: no settings
            assert new["customizations"] == {} and new["customEnabled"] is False
            continue
        assert json.dumps(new) == json.dumps(_old_device_settings_view(store, device))
    after = [store.org_customizations, [(d.settings, d.location_id) for d in store.devices.values()]]
    assert json.dumps(after, default=str) == snapshot


def _old_values(node: Any, ptr: str, key: str = "") -> Any:
    """The value checks' walk before it skipped plain scalars (a pointer for every scalar)."""
    from reconciler.manifests.load import escape_pointer

    if isinstance(node, dict):
        for k, v in node.items():
            yield from _old_values(v, f"{ptr}/{escape_pointer(str(k))}", str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _old_values(v, f"{ptr}/{i}", key)
    else:
        yield ptr, key, node


def _old_input_check(resources: list[Any]) -> list[Any]:
    from reconciler.validation import inputs

    c = inputs._Checker()
    for res in resources:
        for ptr, key, value in [*_old_values(res.metadata, "/metadata"), *_old_values(res.spec, "/spec")]:
            if isinstance(value, str):
                c.string(res, ptr, key, value)
                if key == "sipPassword" and inputs.weak_sip_password(value):
                    c.add(res, ptr, str(inputs.weak_sip_password(value)))
            elif not isinstance(value, SecretRef):
                c.number(res, ptr, value)
    c.look_alikes()
    return c.out


_KEYS = [
    "name",
    "location",
    "lineLabel",
    "sipPassword",
    "port",
    "a/b",
    "x~y",
    "settings",
    "customizations",
    "note",
]
_STRINGS = [
    "Sales",
    "\u0405ales",
    "Sa\u200bles",
    "ok",
    "tab\there",
    "bell\x07",
    "pass1234",
    "short",
    "Lobby 1",
    "\u2113obby",
]
_NUMBERS: list[Any] = [0, 1, -7, 2**31, -(2**40), 1.5, float("inf"), float("nan"), True, False, None]


def _random_tree(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.45:
        pool = rng.choice([_STRINGS, _NUMBERS, [SecretRef("PW_ENV"), SecretRef("UNSET_ENV")]])
        return rng.choice(pool)
    if roll < 0.75:
        return {rng.choice(_KEYS): _random_tree(rng, depth - 1) for _ in range(rng.randint(0, 4))}
    return [_random_tree(rng, depth - 1) for _ in range(rng.randint(0, 4))]


def test_value_checks_say_what_the_walk_over_every_scalar_said() -> None:
    """``inputs.check`` and ``unset_env`` look only at scalars that could be a problem; on random
    manifests (look-alikes, invisible characters, bad numbers, secrets, keys needing escapes) they
    give exactly the diagnostics of the walk that built a pointer for every scalar."""
    from reconciler.model import Location, Resource
    from reconciler.validation import inputs

    rng = random.Random(7)
    flagged = 0
    for case in range(300):
        resources = [
            Resource(
                "DeviceMembers",
                f"d{case}-{i}",
                {"name": rng.choice(_STRINGS), "labels": _random_tree(rng, 2)},
                {key: _random_tree(rng, 3) for key in rng.sample(_KEYS, 4)},
                Location(f"f{case}-{i}.yaml", 1, 1),
            )
            for i in range(rng.randint(1, 4))
        ]
        got = inputs.check(resources)
        assert got == _old_input_check(resources)
        flagged += len(got)
        environ = {"PW_ENV": rng.choice(["weak", "Str0ngPassw0rd"])}
        old_unset = []
        for res in resources:
            for ptr, key, value in [*_old_values(res.metadata, "/metadata"), *_old_values(res.spec, "/spec")]:
                if not isinstance(value, SecretRef):
                    continue
                if value.env not in environ:
                    old_unset.append((res.loc(ptr), "not set"))
                elif key == "sipPassword" and inputs.weak_sip_password(environ[value.env]):
                    old_unset.append((res.loc(ptr), "refuse"))
        new_unset = [
            (d.location, "not set" if "not set" in d.message else "refuse")
            for d in inputs.unset_env(resources, environ)
        ]
        assert new_unset == old_unset
    assert flagged > 100  # the random manifests did hold problems to find
