"""Load on the public pages through gunicorn on loopback; prints throughput and
whether any worker crashed.

    python bench/web_load.py [--requests 3000] [--concurrency 16] [--threads 0]

Uses (and fills with the demo data, once) a temporary SQLite instance unless
PROCURE_DATABASE_URL is set. ``--threads N`` runs gunicorn's threaded workers
instead of process workers, to compare (CPython 3.11.7 on this machine has been
seen to segfault under threaded rendering; process workers are what we ship).
Bounded in count and time, loopback only.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

PATHS = ["/", "/counties/371321", "/counties/371321?q=" + urllib.parse.quote("养老"), "/organizations"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()

    env = dict(os.environ, FLASK_APP="procure")
    env.setdefault("PROCURE_INSTANCE_PATH", tempfile.mkdtemp(prefix="procure-bench-"))
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade", "heads"], env=env, check=True, capture_output=True)
    subprocess.run([*flask, "demo", "load"], env=env, check=True, capture_output=True)

    port = free_port()
    worker = ["--threads", str(args.threads)] if args.threads else ["--worker-class", "sync"]
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "procure:create_app()", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), *worker, "--no-control-socket"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.3)

        def get(i: int):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(base + PATHS[i % len(PATHS)], timeout=30) as r:
                    r.read()
                    return r.status, time.perf_counter() - start
            except Exception as exc:  # noqa: BLE001 - counted, not raised
                return type(exc).__name__, time.perf_counter() - start

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(get, range(args.requests)))
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies = sorted(t for _, t in results)
    crashes = open(log.name, encoding="utf-8", errors="replace").read().count("SIGSEGV")
    print(f"workers={args.workers} threads={args.threads or 'none (sync)'} requests={args.requests} "
          f"concurrency={args.concurrency}")
    print(f"outcomes: {dict(collections.Counter(s for s, _ in results))}")
    print(f"throughput: {args.requests / elapsed:.1f} req/s; p50 {latencies[len(latencies) // 2] * 1000:.0f} ms; "
          f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms")
    print(f"worker segfaults: {crashes}")


if __name__ == "__main__":
    main()
