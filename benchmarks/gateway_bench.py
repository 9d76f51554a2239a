"""Gateway overhead benchmark (not a test): direct vs through Warden, on loopback only.

    .venv/bin/python benchmarks/gateway_bench.py [--quick] [--json] [--no-classifier] [--paired]
        [--inprocess-only] [--upstream-ms MS] [--floor] [--loop asyncio|uvloop]

A fast stub OpenAI-compatible upstream (raw ASGI, fixed answer) and the gateway (`warden serve`) run as
separate processes on 127.0.0.1; an asyncio aiohttp client sends a bounded number of requests at 1, 50 and
200 concurrent clients, each request with a unique prompt (so no cache helps). Reported: p50/p99
latency direct and through the gateway, the added p50/p99, throughput, and the gateway's own measured
overhead (its ``warden_overhead_seconds`` histogram: total minus upstream time, per request).

``--paired``: the added latency as a *paired difference* instead of two separate runs: every client sends
each request twice in the same run — once direct to the stub, once through the gateway, in alternating
order — and the per-request difference (gateway minus direct) is what p50/p99 "added" report. On a shared,
loaded machine this cancels most of the load drift between the two unpaired runs.

``--upstream-ms MS``: the stub waits MS milliseconds before it answers, like a model generating (default 0:
an instant answer). Clients then start at random points of one MS period: closed-loop clients that start
together against a fixed answer time stay in lockstep and reach the gateway as one burst per period. With an instant upstream, 50 and 200 closed-loop clients keep the two cores that client,
stub and gateway share saturated, so latency there is queueing (Little's law: clients / throughput), not
per-request overhead; with a model-like MS the same clients are requests in flight at a rate the box can
carry, which is what a gateway in front of a model sees.

The load client is aiohttp: httpx's connection pool collapses under concurrency (encode/httpx#3215).
Against this stub, requests per second with 1 / 50 / 200 clients: httpx 0.28 812 / 224 / 171, httpx2
1256 / 1128 / 767, aiohttp 3132 / 7330 / 6416 — with httpx the benchmark measured its own client.

``--floor``: also measure a do-nothing pass-through proxy on the same stack (uvicorn + uvloop + httptools
in, aiohttp out; no parsing, auth, rails or audit log) the same way. It is the reference a gateway's
overhead is judged against on this machine: what one more proxy hop costs here before any gateway work.
Where the floor itself misses a target, no gateway on this stack and machine can meet it.

Configurations: rule rails (the default policy without the embedding classifier) and with the classifier
(MiniLM, one thread, run *during* the upstream call). Everything stops by itself.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

KEY = "wk-demo-user-INSECURE-change-me"
ANSWER = json.dumps({
    "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": "stub",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The capital of France is Paris."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
}).encode()  # fmt: skip


UPSTREAM_S = 0.0  # the stub's answer time (set in the stub process from --upstream-ms)


async def _lifespan(receive: Any, send: Any, on_shutdown: Any = None) -> None:
    """The ASGI lifespan protocol for the raw apps below (``on_shutdown``: an async callable)."""
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def stub_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    more = True
    while more:
        msg = await receive()
        more = msg.get("more_body", False)
    if UPSTREAM_S:  # fixed, so the per-request difference direct vs via carries no upstream noise
        await asyncio.sleep(UPSTREAM_S)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": ANSWER})


FLOOR_UPSTREAM = ""  # the pass-through proxy's upstream (set in its process from --floor-proxy)
_floor_session: aiohttp.ClientSession | None = None


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least a Python gateway on Warden's stack can add: the same server (uvicorn, uvloop,
    httptools) and upstream client (aiohttp), and nothing else — no parsing, auth, rails or audit log.
    Its added latency is the floor a proxy hop costs on this machine; Warden's own cost is what it
    adds above this floor."""
    global _floor_session
    if scope["type"] == "lifespan":

        async def close() -> None:
            if _floor_session is not None:
                await _floor_session.close()

        return await _lifespan(receive, send, close)
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    chunks, more = [], True
    while more:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        more = msg.get("more_body", False)
    if _floor_session is None:
        _floor_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512, limit_per_host=0))
    async with _floor_session.post(
        FLOOR_UPSTREAM + "/chat/completions",
        data=b"".join(chunks),
        headers={"content-type": "application/json"},
    ) as r:
        body = await r.read()
        status = r.status
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"process exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def policy_file(tmp: Path, classifier: bool) -> Path:
    import yaml

    from warden.gateway.policy import default_policy_path, load_policy

    data = load_policy(default_policy_path()).model_dump(mode="json", by_alias=True, exclude_none=True)
    if not classifier:
        data["rails"]["input"] = [r for r in data["rails"]["input"] if r["type"] != "injection_classifier"]
    data["audit"]["url"] = str(tmp / f"audit-{int(classifier)}.db")
    data["server"].update(max_concurrency=512, max_queue=4096, queue_timeout_s=60)
    if EVENT_LOOP:
        data["server"]["event_loop"] = EVENT_LOOP
    for key in data["keys"]:
        key.pop("requests_per_minute", None)
        key.pop("tokens_per_window", None)
    path = tmp / f"policy-{int(classifier)}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


EVENT_LOOP = ""  # --loop asyncio|uvloop: the gateway's event loop (default: the policy's)
_RUN = iter(range(1 << 30))  # every load phase gets its own prompts


def _body(run: int, i: int) -> dict[str, Any]:
    """A prompt no earlier request of the benchmark used: the embedding rail caches by text, so a
    repeated prompt would measure the cache instead of the classifier."""
    return {
        "model": "warden-demo",
        "messages": [{"role": "user", "content": f"Run {run}, request {i}: what is the capital of France?"}],
    }


def _session(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60), connector=aiohttp.TCPConnector(limit=connections)
    )


ERRORS: collections.Counter[str] = collections.Counter()  # what the failed requests were, for the report


async def _post(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[float, bool]:
    """(seconds, ok) for one request, body read to the end."""
    t0 = time.perf_counter()
    try:
        async with session.post(url, json=body, headers=headers) as r:
            text = await r.read()
            ok = r.status == 200
            if not ok:
                ERRORS[f"{r.status} {text[:120]!r}"] += 1
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        ok = False
        ERRORS[type(exc).__name__] += 1
    return time.perf_counter() - t0, ok


async def _stagger(seconds: float, rng: random.Random) -> None:
    """Start each client at a random point of one upstream period: closed-loop clients that all start
    at once against a fixed answer time stay in lockstep and hit the gateway as one burst per period."""
    if seconds:
        await asyncio.sleep(rng.uniform(0, seconds))


async def load(
    url: str, concurrency: int, total: int, headers: dict[str, str], stagger_s: float = 0.0
) -> dict[str, float]:
    lat: list[float] = []
    errors = 0
    counter = iter(range(total))
    run = next(_RUN)
    rng = random.Random(run)
    async with _session(concurrency) as session:

        async def worker() -> None:
            nonlocal errors
            await _stagger(stagger_s, rng)
            for i in counter:
                dt, ok = await _post(session, url, _body(run, i), headers)
                errors += not ok
                lat.append(dt)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    lat.sort()
    return {"n": total, "errors": errors, "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "rps": total / wall}  # fmt: skip


def _overhead_buckets(text: str) -> list[tuple[float, float]]:
    buckets = []
    for line in text.splitlines():
        if line.startswith("warden_overhead_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return buckets


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def load_paired(
    direct_url: str,
    via_url: str,
    concurrency: int,
    total: int,
    headers: dict[str, str],
    stagger_s: float = 0.0,
) -> dict[str, float]:
    """Each request sent direct and through the gateway by the same client task, back to back, in
    alternating order; the added latency is the per-request difference (gateway minus direct)."""
    direct: list[float] = []
    via: list[float] = []
    diff: list[float] = []
    errors = 0
    counter = iter(range(total))
    run = next(_RUN)
    rng = random.Random(run)
    async with _session(2 * concurrency) as session:

        async def one(url: str, body: dict[str, Any], h: dict[str, str]) -> float:
            nonlocal errors
            dt, ok = await _post(session, url, body, h)
            errors += not ok
            return dt

        async def worker() -> None:
            await _stagger(stagger_s, rng)
            for i in counter:
                body = _body(run, i)
                if i % 2:
                    w = await one(via_url, body, headers)
                    d = await one(direct_url, body, {})
                else:
                    d = await one(direct_url, body, {})
                    w = await one(via_url, body, headers)
                direct.append(d)
                via.append(w)
                diff.append(w - d)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"n": total, "errors": errors, "pairs_per_s": total / wall,
            "direct_p50_ms": 1000 * _pct(direct, 0.5), "direct_p99_ms": 1000 * _pct(direct, 0.99),
            "warden_p50_ms": 1000 * _pct(via, 0.5), "warden_p99_ms": 1000 * _pct(via, 0.99),
            "added_p50_ms": 1000 * _pct(diff, 0.5), "added_p99_ms": 1000 * _pct(diff, 0.99)}  # fmt: skip


def overhead_from_metrics(after: str, before: str = "") -> dict[str, float]:
    """p50/p99 of warden_overhead_seconds (bucket upper bounds) over the requests between two scrapes of
    the cumulative histogram: ``after`` minus ``before``, so each concurrency level counts only its own."""
    prev = dict(_overhead_buckets(before))
    buckets = [(le, c - prev.get(le, 0.0)) for le, c in _overhead_buckets(after)]
    total = buckets[-1][1] if buckets else 0
    out = {}
    for q in (0.5, 0.99):
        out[f"overhead_p{int(q * 100)}_ms_le"] = next(
            (1000 * b for b, c in buckets if c >= q * total), float("nan")
        )
    return out


def _metrics(port: int, clf: bool | None) -> str:
    """The gateway's Prometheus text; the pass-through proxy has none."""
    return "" if clf is None else httpx.get(f"http://127.0.0.1:{port}/metrics").text


def run(
    quick: bool,
    with_classifier: bool,
    paired: bool = False,
    upstream_ms: float = 0.0,
    floor: bool = False,
) -> list[dict[str, Any]]:
    plan = [(1, 100 if quick else 300), (50, 500 if quick else 1500), (200, 800 if quick else 2000)]
    tmp = Path(tempfile.mkdtemp(prefix="warden-bench-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    stub_port = free_port()
    stub = subprocess.Popen(
        [sys.executable, __file__, "--stub", str(stub_port), "--upstream-ms", str(upstream_ms)],
        stderr=subprocess.PIPE,
        env=env,
    )
    results = []
    stagger = upstream_ms / 1000
    try:
        wait_up(f"http://127.0.0.1:{stub_port}/", stub)
        direct = {
            c: asyncio.run(load(f"http://127.0.0.1:{stub_port}/v1/chat/completions", c, n, {}, stagger))
            for c, n in plan
        }
        configs = (
            ([("pass-through (floor)", None)] if floor else [])
            + [("rule rails", False)]
            + ([("rule rails + classifier", True)] if with_classifier else [])
        )
        for name, clf in configs:
            port = free_port()
            upstream = f"http://127.0.0.1:{stub_port}/v1"
            if clf is None:
                cmd = [sys.executable, __file__, "--floor-proxy", str(port), "--upstream", upstream]
            else:
                cmd = [sys.executable, "-m", "warden.cli", "serve", "--policy", str(policy_file(tmp, clf)), "--upstream",
                       upstream, "--port", str(port), "--log-level", "warning"]  # fmt: skip
            gw = subprocess.Popen(cmd, stderr=subprocess.PIPE, env=env)
            try:
                wait_up(f"http://127.0.0.1:{port}/healthz", gw)
                for c, n in plan:
                    if clf is True and c > 1:
                        n = max(
                            c, n // 5
                        )  # the classifier is ~tens of ms per request on one thread: fewer requests
                    before = _metrics(port, clf)
                    via = asyncio.run(
                        load(
                            f"http://127.0.0.1:{port}/v1/chat/completions",
                            c,
                            n,
                            {"Authorization": f"Bearer {KEY}"},
                            stagger,
                        )
                    )
                    after = _metrics(port, clf)
                    d = direct[c]
                    results.append({"config": name, "concurrency": c, "direct": d, "warden": via,
                                    "added_p50_ms": via["p50_ms"] - d["p50_ms"], "added_p99_ms": via["p99_ms"] - d["p99_ms"],
                                    **overhead_from_metrics(after, before)})  # fmt: skip
                    if paired:
                        before = after
                        pair = asyncio.run(load_paired(f"http://127.0.0.1:{stub_port}/v1/chat/completions",
                                                       f"http://127.0.0.1:{port}/v1/chat/completions", c, n,
                                                       {"Authorization": f"Bearer {KEY}"}, stagger))  # fmt: skip
                        after = _metrics(port, clf)
                        results[-1]["paired"] = {**pair, **overhead_from_metrics(after, before)}
            finally:
                gw.send_signal(signal.SIGTERM)
                gw.wait(timeout=60)
    finally:
        stub.send_signal(signal.SIGTERM)
        stub.wait(timeout=30)
    return results


def inprocess(n: int = 400, classifier: bool = False) -> dict[str, float]:
    """The gateway's own cost per request with no network: the ASGI app driven by httpx's ASGI transport,
    an instant in-process backend, one request at a time. Reports wall and CPU (process) time."""
    from warden.gateway.app import create_app
    from warden.gateway.backends.interface import Backend
    from warden.gateway.server import build_gateway

    class Instant(Backend):
        async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
            return json.loads(ANSWER)

        async def stream(self, body: dict[str, Any]) -> Any:  # pragma: no cover - not used here
            yield json.loads(ANSWER)

    from warden.gateway.policy import load_policy

    tmp = Path(tempfile.mkdtemp(prefix="warden-bench-"))
    gw = build_gateway(
        load_policy(policy_file(tmp, classifier)), backend=Instant(), audit_url=str(tmp / "inproc.db")
    )

    async def go() -> dict[str, float]:
        await gw.start()
        inner = create_app(gw, manage_lifecycle=False)
        wall, cpu, server = [], [], []

        async def app(scope: Any, receive: Any, send: Any) -> None:  # times the gateway alone, not the client
            t0 = time.perf_counter()
            await inner(scope, receive, send)
            server.append(time.perf_counter() - t0)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            for i in range(n + 20):
                body = {
                    "model": "warden-demo",
                    "messages": [{"role": "user", "content": f"Request {i}: what is the capital of France?"}],
                }
                t0, c0 = time.perf_counter(), time.process_time()
                r = await client.post(
                    "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
                )
                if i >= 20:  # warm-up excluded
                    wall.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                assert r.status_code == 200, r.text
        await gw.stop()
        wall.sort()
        cpu.sort()
        srv = sorted(server[20:])
        return {
            "n": n,
            "gateway_p50_ms": 1000 * srv[n // 2],
            "gateway_p99_ms": 1000 * srv[int(0.99 * n)],
            "wall_p50_ms": 1000 * wall[n // 2],
            "wall_p99_ms": 1000 * wall[int(0.99 * n)],
            "cpu_p50_ms": 1000 * cpu[n // 2],
        }

    return asyncio.run(go())


def _serve_on_loopback(app: Any, port: int) -> int:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


def main(argv: list[str]) -> int:
    upstream_ms = float(argv[argv.index("--upstream-ms") + 1]) if "--upstream-ms" in argv else 0.0
    if "--stub" in argv:
        global UPSTREAM_S
        UPSTREAM_S = upstream_ms / 1000
        return _serve_on_loopback(stub_app, int(argv[argv.index("--stub") + 1]))
    if "--floor-proxy" in argv:
        global FLOOR_UPSTREAM
        FLOOR_UPSTREAM = argv[argv.index("--upstream") + 1].rstrip("/")
        return _serve_on_loopback(floor_app, int(argv[argv.index("--floor-proxy") + 1]))
    if "--loop" in argv:
        global EVENT_LOOP
        EVENT_LOOP = argv[argv.index("--loop") + 1]
    clf = "--no-classifier" not in argv
    quick = "--quick" in argv
    inproc = {"rule rails": inprocess(200 if quick else 1000)}
    if clf:
        inproc["rule rails + classifier"] = inprocess(50 if quick else 200, classifier=True)
    paired = "--paired" in argv
    results = (
        []
        if "--inprocess-only" in argv
        else run(
            quick=quick, with_classifier=clf, paired=paired, upstream_ms=upstream_ms, floor="--floor" in argv
        )
    )
    if "--json" in argv:
        print(json.dumps({"inprocess": inproc, "http": results}, indent=2))
        return 0
    t0 = time.perf_counter()
    x = 0
    for i in range(3_000_000):  # calibration: ~0.15 s on an idle modern core; scale the figures below by it
        x += i
    print(
        f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, calibration loop: {time.perf_counter() - t0:.2f} s, upstream answer time: {upstream_ms:g} ms"
    )
    print("in-process (ASGI, instant backend, sequential):")
    for name, r in inproc.items():
        print(
            f"  {name:26} gateway p50 {r['gateway_p50_ms']:.2f} ms, p99 {r['gateway_p99_ms']:.2f} ms"
            f" | with the in-process client: wall p50 {r['wall_p50_ms']:.2f} ms, p99 {r['wall_p99_ms']:.2f} ms,"
            f" CPU p50 {r['cpu_p50_ms']:.2f} ms (n={r['n']})"
        )
    print("over HTTP on loopback (stub upstream, gateway and client in separate processes):")
    print(
        f"{'config':26} {'clients':>7} {'direct p50/p99 ms':>19} {'warden p50/p99 ms':>19} {'added p50/p99 ms':>18} {'rps direct/warden':>18} {'gw overhead p50/p99 ≤ms':>24}"
    )
    for row in results:
        d, w = row["direct"], row["warden"]
        print(f"{row['config']:26} {row['concurrency']:>7} {d['p50_ms']:>9.2f}/{d['p99_ms']:<9.2f} {w['p50_ms']:>9.2f}/{w['p99_ms']:<9.2f} "
              f"{row['added_p50_ms']:>8.2f}/{row['added_p99_ms']:<9.2f} {d['rps']:>8.0f}/{w['rps']:<9.0f} "
              f"{row['overhead_p50_ms_le']:>10.2f}/{row['overhead_p99_ms_le']:<10.2f}" + (f"  errors={w['errors']}" if w["errors"] else ""))  # fmt: skip
    if paired:
        print("paired (each request direct and through the gateway back to back, same client, same run;")
        print("added = percentiles of the per-request difference):")
        print(
            f"{'config':26} {'clients':>7} {'direct p50/p99 ms':>19} {'warden p50/p99 ms':>19} {'added p50/p99 ms':>18} {'pairs/s':>8} {'gw overhead p50/p99 ≤ms':>24}"
        )
        for row in results:
            pr = row["paired"]
            print(f"{row['config']:26} {row['concurrency']:>7} {pr['direct_p50_ms']:>9.2f}/{pr['direct_p99_ms']:<9.2f} "
                  f"{pr['warden_p50_ms']:>9.2f}/{pr['warden_p99_ms']:<9.2f} {pr['added_p50_ms']:>8.2f}/{pr['added_p99_ms']:<9.2f} "
                  f"{pr['pairs_per_s']:>8.0f} {pr['overhead_p50_ms_le']:>10.2f}/{pr['overhead_p99_ms_le']:<10.2f}"
                  + (f"  errors={pr['errors']}" if pr["errors"] else ""))  # fmt: skip
    print_verdicts(results)
    if ERRORS:
        print("failed requests, by status / exception:", dict(ERRORS))
    return 0


TARGET_P50_MS, TARGET_P99_MS = 2.0, 10.0  # the targets for added latency with rule rails


def print_verdicts(results: list[dict[str, Any]]) -> None:
    """Each rule-rails row against the targets, next to the do-nothing proxy's figures for the same row:
    where the floor misses a target too, the machine does, before any gateway work."""
    rows = {(r["config"], r["concurrency"]): r for r in results}
    rule = [r for r in results if r["config"] == "rule rails"]
    if not rule:
        return

    def added(row: dict[str, Any]) -> tuple[float, float]:
        src = row.get("paired") or row
        return src["added_p50_ms"], src["added_p99_ms"]

    kind = "paired" if "paired" in rule[0] else "unpaired"
    print(
        f"against the targets (added p50 < {TARGET_P50_MS:g} ms, p99 < {TARGET_P99_MS:g} ms; {kind} figures):"
    )
    for r in rule:
        p50, p99 = added(r)
        ok = p50 < TARGET_P50_MS and p99 < TARGET_P99_MS
        floor = rows.get(("pass-through (floor)", r["concurrency"]))
        line = (
            f"  {r['concurrency']:>3} clients: rule rails {p50:.2f}/{p99:.2f} ms: {'met' if ok else 'missed'}"
        )
        if floor is not None:
            f50, f99 = added(floor)
            f_ok = f50 < TARGET_P50_MS and f99 < TARGET_P99_MS
            line += f"; do-nothing proxy {f50:.2f}/{f99:.2f} ms: {'met' if f_ok else 'missed'}"
        print(line)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
