"""Load and fault benchmark of `stormwatch serve` on loopback (bounded in count and time).

Starts a minimal OpenAI-compatible upstream and the guard (the real `serve` command, fast path by default)
as two subprocesses on 127.0.0.1, then measures from this process:
  * latency added by the proxy: p50 / p99 through the guard minus calling the upstream directly, in the
    same run, at 1, 50 and 200 concurrent closed-loop clients;
  * /v1/scan throughput (single events and batches of 32);
  * behaviour while the upstream fails (HTTP 500), stalls (past the guard's deadline) or is down;
  * nothing lost from the store: SIGTERM the guard, then every event id it answered must be in DuckDB.

    python benchmarks/serve_load.py [--full] [--requests 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

UPSTREAM_SRC = r"""
import asyncio, json, sys
MODE = {"m": "ok"}
BODY = json.dumps({"id": "chatcmpl-b", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris is the capital of France."},
    "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                m = await receive()
                if m["type"] == "lifespan.startup": await send({"type": "lifespan.startup.complete"})
                else: await send({"type": "lifespan.shutdown.complete"}); return
        return
    body = b""
    while True:
        m = await receive(); body += m.get("body", b"")
        if not m.get("more_body"): break
    if scope["path"] == "/mode":
        MODE["m"] = body.decode(); status, out = 200, b"{}"
    elif MODE["m"] == "stall":
        await asyncio.sleep(30); status, out = 200, BODY
    elif MODE["m"] == "fail":
        status, out = 500, b'{"error": {"message": "boom", "type": "server_error"}}'
    else:
        status, out = 200, BODY
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""

SERVE_SRC = "import typer; from stormwatch.cli.serve import serve_cmd; typer.run(serve_cmd)"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


async def closed_loop(
    url: str, body: bytes, headers: dict[str, str], conc: int, total: int, max_s: float
) -> dict[str, Any]:
    """`conc` clients each sending back-to-back until `total` requests or `max_s` seconds."""
    lat: list[float] = []
    codes: dict[int, int] = {}
    ids: list[str] = []
    left = [total]
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + max_s
        t_start = time.perf_counter()

        async def worker() -> None:
            while left[0] > 0 and time.perf_counter() < deadline:
                left[0] -= 1
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, content=body, headers=headers)
                    code = r.status_code
                    if "x-stormwatch-event-id" in r.headers:
                        ids.append(r.headers["x-stormwatch-event-id"])
                except httpx.HTTPError:
                    code = -1
                lat.append(time.perf_counter() - t0)
                codes[code] = codes.get(code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(conc)))
        wall = time.perf_counter() - t_start
    return {
        "n": len(lat),
        "p50_ms": pct(lat, 50) * 1000,
        "p99_ms": pct(lat, 99) * 1000,
        "rps": len(lat) / wall if wall else 0.0,
        "codes": codes,
        "ids": ids,
    }


async def paired_loop(
    direct: str,
    proxy: str,
    body: bytes,
    auth: dict[str, str],
    conc: int,
    pairs: int,
    rate: float,
    max_s: float,
) -> dict[str, Any]:
    """`conc` clients, each sending the same request to the upstream directly and through the guard in turn.

    Pairing keeps both paths under the same (noisy, shared) machine load; `rate` (pairs/s over all clients,
    0 = back-to-back) paces the clients like real users with think time.
    """
    lat: dict[str, list[float]] = {"direct": [], "proxy": []}
    codes: dict[int, int] = {}
    ids: list[str] = []
    left = [pairs]
    think = conc / rate if rate > 0 else 0.0
    plain = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=2 * conc, max_keepalive_connections=2 * conc)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + max_s
        t_start = time.perf_counter()

        async def one(url: str, headers: dict[str, str], path: str) -> None:
            t0 = time.perf_counter()
            try:
                r = await client.post(url, content=body, headers=headers)
                code = r.status_code
                if "x-stormwatch-event-id" in r.headers:
                    ids.append(r.headers["x-stormwatch-event-id"])
            except httpx.HTTPError:
                code = -1
            lat[path].append(time.perf_counter() - t0)
            if path == "proxy":
                codes[code] = codes.get(code, 0) + 1

        async def worker(i: int) -> None:
            if think:
                await asyncio.sleep(think * i / conc)  # spread the clients' start times
            while left[0] > 0 and time.perf_counter() < deadline:
                left[0] -= 1
                t0 = time.perf_counter()
                await one(direct, plain, "direct")
                await one(proxy, auth, "proxy")
                if think:
                    await asyncio.sleep(max(0.0, think - (time.perf_counter() - t0)))

        await asyncio.gather(*(worker(i) for i in range(conc)))
        wall = time.perf_counter() - t_start
    d, p = lat["direct"], lat["proxy"]
    return {
        "pairs": len(p),
        "pairs_per_s": len(p) / wall if wall else 0.0,
        "codes": codes,
        "ids": ids,
        "direct_p50_ms": pct(d, 50) * 1000,
        "direct_p99_ms": pct(d, 99) * 1000,
        "proxy_p50_ms": pct(p, 50) * 1000,
        "proxy_p99_ms": pct(p, 99) * 1000,
        "added_p50_ms": (pct(p, 50) - pct(d, 50)) * 1000,
        "added_p99_ms": (pct(p, 99) - pct(d, 99)) * 1000,
    }


def chat_body(i: int = 0) -> bytes:
    return json.dumps(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": f"What is the capital of France? Please answer briefly. ({i})"},
            ],
        }
    ).encode()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="sw-serve-load-"))
    up_port, guard_port = free_port(), free_port()
    up = f"http://127.0.0.1:{up_port}"
    guard = f"http://127.0.0.1:{guard_port}"
    keys = tmp / "keys.json"
    from stormwatch.api import add_key

    rec, key = add_key(keys, name="bench", rate_per_s=1e6, burst=1_000_000)
    env = {**os.environ, "STORMWATCH_UPSTREAM_API_KEY": "sk-bench"}
    store = tmp / "guard.duckdb"
    up_proc = subprocess.Popen([sys.executable, "-c", UPSTREAM_SRC, str(up_port)], env=env)
    cmd = [
        sys.executable,
        "-c",
        SERVE_SRC,
        "--port",
        str(guard_port),
        "--upstream-url",
        up + "/v1",
        "--keys-file",
        str(keys),
        "--store",
        str(store),
        "--upstream-timeout",
        "2",
    ]
    if args.full:
        cmd.append("--full")
    log = (tmp / "guard.log").open("w")
    guard_proc = subprocess.Popen(cmd, env=env, stderr=log, stdout=log)
    out: dict[str, Any] = {"full": args.full, "cpus": os.cpu_count(), "load": {}, "faults": {}}
    answered: list[str] = []
    try:
        wait_up(up + "/v1/chat/completions")
        wait_up(guard + "/healthz")
        auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        plain = {"content-type": "application/json"}
        body = chat_body()
        # warm both paths
        await closed_loop(guard + "/v1/chat/completions", body, auth, 4, 100, 10)
        await closed_loop(up + "/v1/chat/completions", body, plain, 4, 100, 10)
        for conc in (1, 50, 200):
            n = args.requests if conc > 1 else min(args.requests, 300)
            rate = 0.0 if conc == 1 else args.rate
            r = await paired_loop(
                up + "/v1/chat/completions",
                guard + "/v1/chat/completions",
                body,
                auth,
                conc,
                n,
                rate,
                args.max_s,
            )
            answered += r.pop("ids")
            out["load"][f"paced_{conc}"] = r
            print(
                f"c={conc:>3} ({'back-to-back' if not rate else f'{rate:.0f} pairs/s offered'}): {r['pairs']} "
                f"pairs, direct p50 {r['direct_p50_ms']:.2f} p99 {r['direct_p99_ms']:.2f} ms | proxy p50 "
                f"{r['proxy_p50_ms']:.2f} p99 {r['proxy_p99_ms']:.2f} ms | added p50 {r['added_p50_ms']:.2f} "
                f"p99 {r['added_p99_ms']:.2f} ms; codes {r['codes']}",
                flush=True,
            )
        for conc in (50,):  # saturation: back-to-back clients, each path alone
            d = await closed_loop(up + "/v1/chat/completions", body, plain, conc, args.requests, args.max_s)
            p = await closed_loop(guard + "/v1/chat/completions", body, auth, conc, args.requests, args.max_s)
            answered += p.pop("ids")
            d.pop("ids")
            out["load"][f"saturated_{conc}"] = {"direct": d, "proxy": p}
            print(
                f"saturated c={conc}: direct {d['rps']:.0f} rps (p50 {d['p50_ms']:.1f} ms) | proxy {p['rps']:.0f} "
                f"rps (p50 {p['p50_ms']:.1f} ms); codes {p['codes']}",
                flush=True,
            )
        # /v1/scan throughput
        scan_ids: list[str] = []
        for batch in (1, 32):
            events = [
                {"id": f"scan-{batch}-{i}", "prompt": f"How do I bake bread? step {i}"} for i in range(batch)
            ]
            sbody = json.dumps(events if batch > 1 else events[0]).encode()
            r = await closed_loop(
                guard + "/v1/scan", sbody, auth, 8, args.requests // (4 if batch > 1 else 1), args.max_s
            )
            r.pop("ids")
            r["events_per_s"] = r["rps"] * batch
            out["load"][f"scan_batch_{batch}"] = r
            scan_ids += [f"scan:{rec.id}:{e['id']}" for e in events]  # the store scopes scan ids by key
            print(
                f"/v1/scan batch={batch}: {r['rps']:.0f} req/s = {r['events_per_s']:.0f} events/s, "
                f"p99 {r['p99_ms']:.1f} ms; codes {r['codes']}",
                flush=True,
            )
        # faults: upstream failing, stalling (guard deadline 2 s), then down
        async with httpx.AsyncClient() as c:
            for mode in ("fail", "stall"):
                await c.post(up + "/mode", content=mode.encode())
                hz: list[float] = []

                async def probe(hz: list[float] = hz) -> None:
                    for _ in range(10):
                        t0 = time.perf_counter()
                        await c.get(guard + "/healthz")
                        hz.append((time.perf_counter() - t0) * 1000)
                        await asyncio.sleep(0.1)

                task = asyncio.create_task(probe())
                f = await closed_loop(guard + "/v1/chat/completions", body, auth, 50, 200, 30)
                await task
                answered += f.pop("ids")
                f["healthz_p99_ms_during"] = pct(hz, 99)
                out["faults"][mode] = f
                print(
                    f"upstream {mode}: codes {f['codes']} p50 {f['p50_ms']:.1f} p99 {f['p99_ms']:.1f} ms; "
                    f"/healthz p99 during {f['healthz_p99_ms_during']:.1f} ms",
                    flush=True,
                )
            await c.post(up + "/mode", content=b"ok")
        up_proc.kill()  # down: connections refused from now on
        up_proc.wait(10)
        f = await closed_loop(guard + "/v1/chat/completions", body, auth, 50, 200, 30)
        answered += f.pop("ids")
        out["faults"]["down"] = f
        print(f"upstream down: codes {f['codes']} p50 {f['p50_ms']:.1f} p99 {f['p99_ms']:.1f} ms", flush=True)
    finally:
        t0 = time.perf_counter()
        guard_proc.send_signal(signal.SIGTERM)
        rc = guard_proc.wait(60)
        out["shutdown_s"] = time.perf_counter() - t0
        out["guard_rc"] = rc
        if up_proc.poll() is None:
            up_proc.kill()
            up_proc.wait(10)
        log.close()
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    stored = {r[0] for r in con.execute("SELECT id FROM events").fetchall()}
    con.close()
    expected = set(answered) | set(scan_ids)
    out["store"] = {"answered": len(expected), "stored": len(stored), "missing": len(expected - stored)}
    print(
        f"store after SIGTERM (rc {rc}, {out['shutdown_s']:.2f} s): {len(expected)} answered ids, "
        f"{len(stored)} stored, {len(expected - stored)} missing",
        flush=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="Run the guard with learned stages (--full).")
    ap.add_argument("--requests", type=int, default=2000, help="Requests per load phase (bounded).")
    ap.add_argument("--rate", type=float, default=100.0, help="Offered pairs/s at 50 and 200 clients.")
    ap.add_argument("--max-s", type=float, default=30.0, help="Time bound per phase, seconds.")
    ap.add_argument("--json", type=Path, help="Write the figures here as JSON.")
    args = ap.parse_args()
    res = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
