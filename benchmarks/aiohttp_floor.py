"""The floor of a plan's reads: the same GETs with a bare ``aiohttp.ClientSession``, nothing else.

What the CPU of ``reconciler plan`` cannot go below while aiohttp carries its requests: the device
listing (1,000 a page, following ``Link``), then each device's members, layout (not for analogue
adapters) and settings, as ``benchmarks/sdk_baseline.py`` reads them; ``--concurrency`` workers take
the URLs in turn, each answer read whole and parsed with ``json.loads``. No retries, no limits, no
checks, no models, no manifests, no plan. Prints one JSON line: requests, CPU seconds of the whole
process (start-up and imports included) and of the reads alone, CPU per request (whole process).
``benchmarks/run.py --measure sdk`` runs it next to the SDK script, on the same simulator. Alone::

    reconciler sim serve --devices 10000 --port 8765 &
    python benchmarks/aiohttp_floor.py --base-url http://127.0.0.1:8765/v1
"""

from __future__ import annotations

import time

START_CPU = time.process_time()

import asyncio  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
from sdk_baseline import ATA, arguments  # noqa: E402  (this script's directory: run as a script)


async def reads(base_url: str, concurrency: int, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    count = 0

    async def get(session: aiohttp.ClientSession, url: str) -> Any:
        nonlocal count
        async with session.get(url, headers=headers) as resp:
            count += 1
            body = await resp.read()
            return json.loads(body), resp.headers.get("Link", "")

    started = time.process_time()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        devices: list[dict[str, Any]] = []
        url: str | None = f"{base_url}/devices?max=1000"
        while url:
            page, link = await get(session, url)
            devices += page.get("items", [])
            found = re.search(r'<([^>]+)>;\s*rel="next"', link)
            url = found.group(1) if found else None
        urls: list[str] = []
        for d in devices:
            cid = d.get("callingDeviceId")
            if not cid:
                continue
            base = f"{base_url}/telephony/config/devices/{cid}"
            urls.append(f"{base}/members")
            if not ATA.search(str(d.get("product", ""))):
                urls.append(f"{base}/layout")
            urls.append(f"{base}/settings")
        todo = iter(urls)

        async def worker() -> None:  # a few workers, not a task per request
            for one in todo:
                await get(session, one)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"requests": count, "reads_cpu_s": round(time.process_time() - started, 3)}


def main() -> int:
    args = arguments(__doc__)
    out = asyncio.run(reads(args.base_url.rstrip("/"), args.concurrency, args.token))
    out["process_cpu_s"] = round(time.process_time() - START_CPU, 3)
    out["cpu_us_per_request"] = round(1e6 * out["process_cpu_s"] / max(1, out["requests"]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
