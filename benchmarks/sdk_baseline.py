"""The SDK baseline: the reads of a plan, made by a plain async script with the wxc_sdk package.

Run by ``benchmarks/run.py --measure sdk`` with the Python of an environment of its own, where
``pip install wxc_sdk`` was done (never a dependency of reconciler)::

    python3 -m venv .venv-sdk && .venv-sdk/bin/pip install wxc_sdk
    .venv-sdk/bin/python benchmarks/sdk_baseline.py --base-url http://127.0.0.1:PORT/v1 --concurrency 32

What it does, as someone would write it with the SDK: list the org's devices (1,000 a page), then
for every Webex Calling device read its members, its layout (not for ATAs, which have none) and
its settings, ``--concurrency`` requests at a time (the SDK's own semaphore), all at once with
``asyncio.gather``. No diff, no plan: only the reads and the SDK's parsing of them into its models.
Prints one JSON line: devices, requests, errors, wall and CPU seconds of the reads. Imports nothing
from reconciler.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from typing import Any

ATA = re.compile(r"\bATA\b|Cisco 19[12]\b")  # analogue adapters: no line key layout


async def main_async(base_url: str, concurrency: int, token: str) -> dict[str, Any]:
    from wxc_sdk.as_api import AsWebexSimpleApi
    from wxc_sdk.as_rest import AsRestSession

    AsRestSession.BASE = base_url.rstrip("/")  # the simulator instead of webexapis.com
    started, started_cpu = time.perf_counter(), time.process_time()
    errors = 0
    async with AsWebexSimpleApi(tokens=token, concurrent_requests=concurrency) as api:
        devices = [d for d in await api.devices.list(max=1000) if d.calling_device_id]
        reads: list[Any] = []
        for d in devices:
            reads.append(api.telephony.devices.members(d.calling_device_id))
            if not ATA.search(str(d.product)):
                reads.append(api.telephony.devices.get_device_layout(d.calling_device_id))
            reads.append(api.telephony.devices.device_settings(d.calling_device_id))
        results = await asyncio.gather(*reads, return_exceptions=True)
        errors = sum(1 for r in results if isinstance(r, BaseException))
    return {
        "devices": len(devices),
        "reads": len(reads),
        "errors": errors,
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - started_cpu,
    }


def arguments(doc: str | None) -> argparse.Namespace:
    """``--base-url``, ``--concurrency``, ``--token`` (also those of ``aiohttp_floor.py``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--token", default="bench-token")
    return parser.parse_args()


def main() -> int:
    args = arguments(__doc__)
    print(json.dumps(asyncio.run(main_async(args.base_url, args.concurrency, args.token))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
