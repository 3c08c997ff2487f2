"""Loading manifests: time ``load_paths`` on N generated device manifests (YAML parse + positions).

Run from the repository root::

    python benchmarks/load_manifests.py [--devices 10000] [--repeat 3] [--backend NAME]

Writes N device manifests (members, layout, settings, a comment, flow and block style) into a
temporary directory, then loads them ``--repeat`` times with ``reconciler.manifests.load.load_paths``
and prints the best wall time and the best CPU time of this process (less disturbed by other work
on a shared machine), per backend named (default: the one the loader picks).

``--validate``: times the whole ``reconciler validate DIR`` command instead (a subprocess: wall,
and CPU from its rusage; best of ``--repeat``), without the parse cache
(``RECONCILER_PARSE_CACHE=off``), with an empty cache (the run that fills it) and with a warm one.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.manifests import load as manifests

DEVICE = """\
# Desk phone {i} (Cisco 8851), with a shared line on key 2.
apiVersion: reconciler/v1
kind: Device
metadata:
  mac: "{mac}"
spec:
  members:                       # the whole list: the API replaces it on PUT
    - person: user{i}@example.com
      port: 1
      primaryOwner: true
      lineType: PRIMARY
      lineWeight: 1
    - workspace: Desk {w}
      port: 2
      lineType: SHARED_CALL_APPEARANCE
      lineLabel: 'Desk {w}'
  layout:
    template: Sales 8851
  settings:
    customEnabled: true
    customizations:
      mpp:
        backlightTimer: FIVE_MIN
        vlan: {{enabled: true, value: {vlan}}}
        displayNameFormat: PERSON_FIRST_THEN_LAST_NAME
"""


def write_manifests(root: Path, n: int) -> None:
    for i in range(n):
        folder = root / f"location-{i // 500:03d}" / "devices"
        folder.mkdir(parents=True, exist_ok=True)
        mac = f"{0x0A1B2C000000 + i:012X}"
        colons = ":".join(mac[j : j + 2] for j in range(0, 12, 2))
        text = DEVICE.format(i=i, mac=colons, w=i % 97, vlan=i % 4000)
        (folder / f"{mac}.yaml").write_text(text, encoding="utf-8")


def best_of(root: Path, repeat: int, backend: str | None, n: int) -> tuple[float, float]:
    """Least wall and least CPU seconds of ``repeat`` runs of ``load_paths``."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        resources, diags = manifests.load_paths([root], backend=backend)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        assert not diags, diags[:3]
        assert len(resources) == n, len(resources)
    return wall, cpu


def time_validate(root: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``reconciler validate ROOT`` subprocess."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "validate", str(root)],
        stdout=subprocess.DEVNULL,
        cwd=root,
        env=env,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0
    return wall, usage.ru_utime + usage.ru_stime


def validate_runs(root: Path, repeat: int) -> None:
    base = dict(os.environ, XDG_CACHE_HOME=str(root / ".key"))
    cache = root / ".reconciler" / "parse-cache.bin"
    modes = {
        "no cache": dict(base, RECONCILER_PARSE_CACHE="off"),
        "empty cache": base,
        "warm cache": base,
    }
    for name, env in modes.items():
        best = (float("inf"), float("inf"))
        for _ in range(repeat):
            if name == "empty cache":
                cache.unlink(missing_ok=True)
            wall, cpu = time_validate(root, env)
            best = (min(best[0], wall), min(best[1], cpu))
        print(f"reconciler validate [{name}]: best of {repeat}: {best[0]:.2f} s wall, {best[1]:.2f} s CPU")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", action="append", help="a name from available_backends(); repeatable")
    parser.add_argument("--validate", action="store_true", help="time `reconciler validate DIR` instead")
    args = parser.parse_args()
    backends: list[str | None] = list(args.backend) if args.backend else [None]
    backends_here = ", ".join(manifests.available_backends())
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, backends: {backends_here}")
    with tempfile.TemporaryDirectory(prefix="reconciler-load-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_manifests(root, args.devices)
        print(f"{args.devices} manifests written in {time.perf_counter() - started:.1f} s")
        if args.validate:
            validate_runs(root, args.repeat)
            return 0
        for backend in backends:
            wall, cpu = best_of(root, args.repeat, backend, args.devices)
            per_file = wall / args.devices * 1e6
            label = backend or "default"
            print(
                f"load_paths [{label}]: best of {args.repeat}: {wall:.2f} s wall ({per_file:.0f} us/file), "
                f"{cpu:.2f} s CPU"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
