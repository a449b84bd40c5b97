"""150 unauthenticated 1 MiB uploads to a fresh `serve`: status codes and the guard's RSS before and after (issue 16)."""

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, "benchmarks")
from serve_load import SERVE_SRC, free_port, wait_up

from stormwatch.api import add_key

tmp = Path(tempfile.mkdtemp())
add_key(tmp / "k.json", name="x")
port = free_port()
url = f"http://127.0.0.1:{port}"
p = subprocess.Popen(
    [sys.executable, "-c", SERVE_SRC, "--port", str(port), "--keys-file", str(tmp / "k.json")],
    stderr=subprocess.DEVNULL,
)


def rss():
    return (
        int(next(row for row in open(f"/proc/{p.pid}/status") if row.startswith("VmRSS")).split()[1]) // 1024
    )


try:
    wait_up(url + "/healthz")
    time.sleep(1)
    before = rss()
    body = b"x" * (1 << 20)

    async def one(c):
        try:
            return (
                await c.post(url + "/v1/scan", content=body, headers={"content-type": "application/json"})
            ).status_code
        except httpx.HTTPError as e:
            return type(e).__name__

    async def main():
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=150)) as c:
            return await asyncio.gather(*(one(c) for _ in range(150)))

    t0 = time.perf_counter()
    codes = asyncio.run(main())
    dt = time.perf_counter() - t0
    after = rss()
    from collections import Counter

    print(
        f"150 unauthenticated 1 MiB uploads: {Counter(codes)} in {dt:.2f} s; guard RSS {before} MB -> {after} MB (+{after - before} MB)"
    )
finally:
    p.terminate()
    p.wait(20)
