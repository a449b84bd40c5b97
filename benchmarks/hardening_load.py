"""Issue 16 figures for the guard on loopback: other clients' latency while one client sends adversarial
200k-character prompts, many clients under upstream faults, and the store after SIGTERM (bounded in time).

Starts the fake upstream of `serve_load.py` (modes ok / fail / stall) and the real `serve` command, then:
  1. `--clients` paced clients (`--rate` requests/s each) send chat completions for `--seconds`: baseline;
  2. the same again while one more client sends 200k-character adversarial prompts to /v1/scan back to
     back (the issue's regex input, grown to the body bound); /healthz is probed throughout;
  3. `--fault-clients` clients for `--fault-seconds` while the upstream cycles ok -> fail -> stall -> ok;
     every request must be answered (no client-side timeout = no hang);
  4. SIGTERM, then every event id the guard answered with must be in the store.

    python benchmarks/hardening_load.py [--clients 20 --seconds 20] [--fault-clients 200 --fault-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import SERVE_SRC, UPSTREAM_SRC, chat_body, free_port, pct, wait_up

ADVERSARIAL = "refuse or lose a token. " + "1" * 199_970 + " x"  # 199,996 chars: under the 200k bound


async def paced(
    url: str, headers: dict[str, str], clients: int, rate: float, seconds: float, timeout: float = 30.0
) -> dict[str, Any]:
    """`clients` clients, each sending one chat completion every 1/rate s (or back to back when slower)."""
    lat: list[float] = []
    codes: dict[str, int] = {}
    ids: list[str] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        deadline = time.perf_counter() + seconds

        async def worker(i: int) -> None:
            await asyncio.sleep(i / (clients * rate))  # spread the start times
            n = 0
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, content=chat_body(i * 100_000 + n), headers=headers)
                    code = str(r.status_code)
                    if "x-stormwatch-event-id" in r.headers:
                        ids.append(r.headers["x-stormwatch-event-id"])
                except httpx.TimeoutException:
                    code = "client-timeout"
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                    if len(errors) < 5:
                        errors.append(f"{code} after {time.perf_counter() - t0:.2f} s: {exc!r}"[:200])
                lat.append(time.perf_counter() - t0)
                codes[code] = codes.get(code, 0) + 1
                n += 1
                await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - t0)))

        await asyncio.gather(*(worker(i) for i in range(clients)))
    return {
        "n": len(lat),
        "p50_ms": pct(lat, 50) * 1000,
        "p99_ms": pct(lat, 99) * 1000,
        "codes": codes,
        "errors": errors,
        "ids": ids,
    }


async def adversary(url: str, headers: dict[str, str], stop: asyncio.Event, key_id: str) -> dict[str, Any]:
    """Back-to-back /v1/scan calls with the adversarial prompt until `stop`."""
    lat: list[float] = []
    codes: dict[str, int] = {}
    ids: list[str] = []
    async with httpx.AsyncClient(timeout=120) as client:
        i = 0
        while not stop.is_set():
            body = json.dumps({"id": f"adv-{i}", "prompt": ADVERSARIAL}).encode()
            t0 = time.perf_counter()
            r = await client.post(url, content=body, headers=headers)
            lat.append(time.perf_counter() - t0)
            codes[str(r.status_code)] = codes.get(str(r.status_code), 0) + 1
            if r.status_code == 200:
                ids.append(f"scan:{key_id}:adv-{i}")
            i += 1
    return {
        "n": len(lat),
        "p50_ms": pct(lat, 50) * 1000,
        "max_ms": max(lat, default=0) * 1000,
        "codes": codes,
        "ids": ids,
    }


async def healthz(url: str, stop: asyncio.Event) -> list[float]:
    out: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            await client.get(url)
            out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from stormwatch.api import add_key

    tmp = Path(tempfile.mkdtemp(prefix="sw-hardening-"))
    up_port, guard_port = free_port(), free_port()
    up, guard = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{guard_port}"
    rec, key = add_key(tmp / "keys.json", name="bench", rate_per_s=1e6, burst=1_000_000)
    env = {**os.environ, "STORMWATCH_UPSTREAM_API_KEY": "sk-bench"}
    store = tmp / "guard.duckdb"
    up_proc = subprocess.Popen([sys.executable, "-c", UPSTREAM_SRC, str(up_port)], env=env)
    cmd = [sys.executable, "-c", SERVE_SRC, "--port", str(guard_port), "--upstream-url", up + "/v1",
           "--keys-file", str(tmp / "keys.json"), "--store", str(store), "--upstream-timeout", "2"]  # fmt: skip
    log = (tmp / "guard.log").open("w")
    guard_proc = subprocess.Popen(cmd, env=env, stderr=log, stdout=log)
    auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    chat = guard + "/v1/chat/completions"
    out: dict[str, Any] = {"cpus": os.cpu_count(), "args": vars(args) | {"json": None}}
    answered: list[str] = []
    try:
        wait_up(up + "/v1/chat/completions")
        wait_up(guard + "/healthz")
        await paced(chat, auth, 4, 10, 2)  # warm up
        base = await paced(chat, auth, args.clients, args.rate, args.seconds)
        answered += base.pop("ids")
        out["baseline"] = base
        print(f"baseline {args.clients} clients x {args.seconds:.0f} s: {base}", flush=True)
        stop = asyncio.Event()
        adv_task = asyncio.create_task(adversary(guard + "/v1/scan", auth, stop, rec.id))
        hz_task = asyncio.create_task(healthz(guard + "/healthz", stop))
        await asyncio.sleep(0.5)
        under = await paced(chat, auth, args.clients, args.rate, args.seconds)
        stop.set()
        adv, hz = await adv_task, await hz_task
        answered += under.pop("ids") + adv.pop("ids")
        out["under_adversary"] = under | {"healthz_p99_ms": pct(hz, 99), "healthz_max_ms": max(hz, default=0)}
        out["adversary"] = adv
        print(f"with the adversary: {out['under_adversary']}\nadversary: {adv}", flush=True)
        # faults: the upstream cycles ok -> fail -> stall -> ok while many clients keep sending
        async with httpx.AsyncClient() as c:

            async def cycle() -> None:
                modes = ["ok", "fail", "stall"]
                t_end = time.perf_counter() + args.fault_seconds
                i = 0
                while time.perf_counter() < t_end:
                    await c.post(up + "/mode", content=modes[i % 3].encode())
                    i += 1
                    await asyncio.sleep(min(5.0, max(0.0, t_end - time.perf_counter())))
                await c.post(up + "/mode", content=b"ok")

            cyc = asyncio.create_task(cycle())
            faults = await paced(chat, auth, args.fault_clients, args.fault_rate, args.fault_seconds)
            await cyc
        answered += faults.pop("ids")
        out["faults"] = faults
        print(f"faults {args.fault_clients} clients x {args.fault_seconds:.0f} s: {faults}", flush=True)
    finally:
        t0 = time.perf_counter()
        guard_proc.send_signal(signal.SIGTERM)
        rc = guard_proc.wait(60)
        out["shutdown_s"], out["guard_rc"] = time.perf_counter() - t0, rc
        up_proc.kill()
        up_proc.wait(10)
        log.close()
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    stored = {r[0] for r in con.execute("SELECT id FROM events").fetchall()}
    con.close()
    expected = set(answered)
    out["store"] = {"answered": len(expected), "stored": len(stored), "missing": len(expected - stored)}
    print(f"store after SIGTERM (rc {rc}, {out['shutdown_s']:.2f} s): {out['store']}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rate", type=float, default=5.0, help="Requests/s per client.")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fault-clients", type=int, default=200)
    ap.add_argument("--fault-rate", type=float, default=1.0, help="Requests/s per client under faults.")
    ap.add_argument("--fault-seconds", type=float, default=60.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
