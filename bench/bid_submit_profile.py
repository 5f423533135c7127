"""In-process profile of the full bid submission (the page ``bench/bid_submit.py``
measures through gunicorn): the same world (``bid_submit.prepare``), the same
POST /bids/tenders/<id>, sent through the WSGI app without a server, so the
figures are the request's own CPU and SQL rather than the machine's load.

    python bench/bid_submit_profile.py [--requests 1000] [--rounds 5]
        [--phases module:function,...] [--profile [--sort tottime] [--top 40]]

Prints the SQL statements of one submission; then, in interleaved rounds, the
CPU per request of this (web) process and of the PostgreSQL server processes
of the database (read from /proc), for the submission, the naive INSERT +
COMMIT endpoint and a hello endpoint (min and median over the rounds: the
minimum is the figure least disturbed by other work on a shared machine).
``--phases`` times named functions (inclusive, per submission); ``--profile``
runs a cProfile (CPU time) of the submissions. Needs PostgreSQL
(PROCURE_BENCH_DATABASE_URL, default ``bench_tenders``, whose schema is reset)
and Redis (PROCURE_BENCH_REDIS_URL, default db 5; the emails are enqueued
there, on a queue of this run that is deleted at the end).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "platform"))

import bid_submit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--phases", default="", help="comma-separated module:function names to time "
                        "(CPU of this process, inclusive), e.g. procure.bids.services:submit")
    args = parser.parse_args()

    database_url = os.environ.get("PROCURE_BENCH_DATABASE_URL",
                                  "postgresql+psycopg://postgres@127.0.0.1:5432/bench_tenders")
    redis_url = os.environ.get("PROCURE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    bid_submit.reset_database(database_url)
    instance = tempfile.mkdtemp(prefix="procure-bench-")
    queue = f"bench-{os.getpid()}"
    env = dict(os.environ, FLASK_APP="procure", PROCURE_DATABASE_URL=database_url, PROCURE_INSTANCE_PATH=instance,
               PROCURE_BROKER_URL=redis_url, PROCURE_TASK_QUEUE=queue,
               PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]))
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade", "heads"], env=env, check=True,
                   capture_output=True)
    world = bid_submit.prepare(env)
    try:
        measure_all(args, world, database_url)
    finally:
        try:
            import redis

            r = redis.Redis.from_url(redis_url)
            for key in r.scan_iter(f"*{queue}*"):
                r.delete(key)
        except Exception:  # noqa: BLE001 - best effort
            pass


def measure_all(args, world: dict, database_url: str) -> None:
    import bench_app
    from sqlalchemy import event

    from procure.extensions import db

    app = bench_app.create()
    client = app.test_client()
    clients = world["clients"]
    statements: list[str] = []

    def post(i):
        c = clients[i % len(clients)]
        client.set_cookie(world["cookie_name"], c["cookie"])
        response = client.post(f"/bids/tenders/{world['tender_id']}", data={
            "csrf_token": c["csrf"], "price": f"{100000 + i}.00", "technical": "服务方案" * 40,
            "team": "社工 3 名", "qualified": "y", "no_collusion": "y", "accepts_terms": "y", "submit": "1"})
        assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:2000])

    for i in range(20):  # warm-up: imports, template compilation, connections
        post(i)

    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", record)
    post(20)
    event.remove(engine, "before_cursor_execute", record)
    print(f"SQL statements of one submission: {len(statements)} (+ COMMIT)")
    for s in statements:
        print("   ", s)

    def naive(i):
        client.delete_cookie(world["cookie_name"])
        c = clients[i % len(clients)]
        response = client.post("/bench/naive-bid", data={"bid_id": c["bid_id"], "user_id": c["user_id"],
                                                         "size": world["sealed_size"]})
        assert response.status_code == 200

    def hello(i):
        client.get("/bench/hello")

    import sqlalchemy as sa

    watcher = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    database = sa.engine.make_url(database_url).database
    ticks = os.sysconf("SC_CLK_TCK")

    def server_cpu() -> float:
        """CPU seconds of the database's server processes (this machine's /proc)."""
        with watcher.connect() as conn:
            pids = conn.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d "
                                        "AND pid <> pg_backend_pid()"), {"d": database}).all()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def measure(fn, n, offset):
        server = server_cpu()
        start_cpu, start = time.process_time(), time.perf_counter()
        for i in range(n):
            fn(offset + i)
        wall, cpu = (time.perf_counter() - start) / n * 1000, (time.process_time() - start_cpu) / n * 1000
        return wall, cpu, (server_cpu() - server) / n * 1000

    # Interleaved rounds; the minimum is the figure least disturbed by the
    # other processes of a shared machine.
    for fn in (naive, hello):
        for i in range(20):
            fn(i)
    figures = {"naive INSERT+COMMIT": [], "hello": [], "full bid submission": []}
    per_round = max(args.requests // args.rounds, 1)
    for r in range(args.rounds):
        figures["naive INSERT+COMMIT"].append(measure(naive, per_round, 1000 + r * per_round))
        figures["hello"].append(measure(hello, per_round, 0))
        figures["full bid submission"].append(measure(post, per_round, 1000 + r * per_round))
    for name, values in figures.items():
        cpu = sorted(c for _, c, _ in values)
        wall = sorted(w for w, _, _ in values)
        server = sorted(p for _, _, p in values)
        print(f"{name:22} CPU per request: web process min {cpu[0]:5.2f} ms, median {cpu[len(cpu) // 2]:5.2f} ms; "
              f"PostgreSQL median {server[len(server) // 2]:5.2f} ms; wall min {wall[0]:5.2f} ms "
              f"({args.rounds} rounds of {per_round})")
    full_cpu = min(c for _, c, _ in figures["full bid submission"])
    naive_cpu = min(c for _, c, _ in figures["naive INSERT+COMMIT"])
    print(f"full / naive CPU of the web process: {full_cpu / naive_cpu:.1f}x")
    if not args.profile and not args.phases:
        return

    phases = time_phases([p for p in args.phases.split(",") if p])
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    start_cpu, start = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for i in range(args.requests):
        post(100 + i)
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"{args.requests} submissions: {wall / args.requests * 1000:.2f} ms wall, "
          f"{cpu / args.requests * 1000:.2f} ms CPU of this process per submission"
          + (" (under cProfile)" if profiler else ""))
    for name, (count, cpu_total, wall_total) in phases.items():
        print(f"  {name:60} {count / args.requests:5.1f} calls  {cpu_total / args.requests * 1000:6.2f} ms CPU  "
              f"{wall_total / args.requests * 1000:6.2f} ms wall per submission")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


def time_phases(names: list[str]) -> dict:
    """Wrap each named function (``module:attr`` or ``module:Class.attr``) so that
    its calls, CPU and wall time (inclusive, outermost calls only) are summed."""
    import functools
    import importlib

    totals: dict[str, list] = {}
    for name in names:
        module_name, _, attr = name.partition(":")
        owner = importlib.import_module(module_name)
        *path, last = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, last)
        totals[name] = [0, 0.0, 0.0]
        depth = [0]

        def wrapper(*a, __original=original, __total=totals[name], __depth=depth, **k):
            if __depth[0]:
                return __original(*a, **k)
            __depth[0] += 1
            c, w = time.process_time(), time.perf_counter()
            try:
                return __original(*a, **k)
            finally:
                __total[0] += 1
                __total[1] += time.process_time() - c
                __total[2] += time.perf_counter() - w
                __depth[0] -= 1

        setattr(owner, last, functools.wraps(original)(wrapper))
    return totals


if __name__ == "__main__":
    main()
