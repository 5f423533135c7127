"""The measurement of record of the web pages (issue 7), side by side with yardsticks.

    PROCURE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        python bench/web_load.py [--duration 5] [--rounds 2] [--workers 2] [--logged-in]

In one run it:

1. migrates the PostgreSQL database (created if missing) and loads the demo data,
   then scales it to province size once: every Shandong county (151) gets a
   published catalog (the demo county's, exported and imported), and one county (历下区,
   370102) a generated 5,000-item catalog (bench/catalog_import.py's table);
2. counts the SQL queries and HTML size of each page in-process (test client);
3. starts three gunicorns with the command line of ``make run``
   (``workers.devrun.commands``: process workers, same flags): the platform, and
   bench/baseline_app.py's Flask "hello" and naive 50-row page;
4. loads each page with ``wrk`` (Debian package ``wrk``: ``-t2 -c32 --latency``),
   in rounds, hello and naive first in every round (interleaved), logged-in pages
   with the demo officer's session cookie;
5. prints per page: req/s, p50, p99 (medians over the rounds), the ratio to hello
   and to the naive page, queries (rendered/cache hit when they differ) and size,
   and the issue's targets. Logged-in pages are kept per user
   (procure.private_pages): wrk, one session reading one page, measures the
   kept copy; ``--no-private-cache`` measures their rendering instead.

Loopback only; bounded in time (about pages × rounds × duration seconds).
``--threads N`` runs the platform with gunicorn's threaded workers (gthread)
instead, to compare; ``--soak SECONDS`` only soaks the public pages and counts
worker crashes (SIGSEGV; see the note in workers/devrun.py).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
# The tree this script is in, before any installed (editable) copy of procure.
for _path in (ROOT, ROOT / "platform", BENCH):
    sys.path.insert(0, str(_path))

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
DEMO_COUNTY = "371321"  # 沂南县, the demo catalog (about 40 items)
BIG_COUNTY = "370102"  # 历下区 gets the 5,000-item catalog
BIG_ROWS = 5000
YEAR = 2026
OFFICER = "officer@yinan.example.com"

# Targets of issue 7.
PUBLIC_HELLO_RATIO = 0.5
PUBLIC_P99_MS = 50.0
BIG_VS_SMALL = 0.20
PRIVATE_NAIVE_RATIO = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    import sqlalchemy as sa

    base = sa.engine.make_url(url)
    if not base.drivername.startswith("postgresql"):
        raise SystemExit("web_load.py measures on PostgreSQL: set PROCURE_DATABASE_URL to a postgresql+psycopg URL")
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": base.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{base.database}"'))
    admin.dispose()


def prepare_data(env: dict[str, str]) -> None:
    flask = [sys.executable, "-m", "flask"]
    for step in (["db", "upgrade", "heads"], ["demo", "load"]):
        done = subprocess.run([*flask, *step], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"flask {' '.join(step)} failed:\n{done.stdout}\n{done.stderr}")


def scale_data(app) -> dict:
    """Province scale, once: a published catalog in every county, one of 5,000 items."""
    from sqlalchemy import func, select

    from catalog_import import generate
    from procure.catalog import queries, services, xlsx
    from procure.catalog.models import Catalog, CatalogStatus, Item
    from procure.extensions import db
    from procure.geo import queries as geo_queries

    with app.app_context():
        session = db.session
        counties = geo_queries.counties(session)
        big = geo_queries.county_by_code(session, BIG_COUNTY)
        if queries.current_published(session, big.id, YEAR) is None:
            t = time.perf_counter()
            draft = services.create_draft(session, county=big, year=YEAR, user=None)
            xlsx.import_catalog(session, draft, generate(BIG_ROWS))
            services.publish(session, draft, None)
            session.commit()
            print(f"  {big.name}: {BIG_ROWS}-item catalog imported and published in {time.perf_counter() - t:.1f} s")
        demo = queries.current_published(session, geo_queries.county_by_code(session, DEMO_COUNTY).id, YEAR)
        added = 0
        t = time.perf_counter()
        table = xlsx.export_catalog(demo)  # copies go through the officer's import
        for county in counties:
            if queries.current_published(session, county.id) is None:
                draft = services.create_draft(session, county=county, year=YEAR, user=None)
                xlsx.import_catalog(session, draft, table)
                services.publish(session, draft, None)
                session.commit()
                added += 1
        if added:
            print(f"  {added} counties got a published copy of the demo catalog in {time.perf_counter() - t:.1f} s")
        published = session.scalar(
            select(func.count(func.distinct(Catalog.county_id))).where(Catalog.status == CatalogStatus.PUBLISHED)
        )
        big_catalog = queries.current_published(session, big.id, YEAR)
        demo = queries.current_published(session, geo_queries.county_by_code(session, DEMO_COUNTY).id, YEAR)
        small_items = session.scalar(select(func.count()).where(Item.catalog_id == demo.id))
        big_items = session.scalar(select(func.count()).where(Item.catalog_id == big_catalog.id))
        item_id = session.scalar(select(Item.id).where(Item.catalog_id == demo.id).order_by(Item.code).limit(1))
        big_item_id = session.scalar(
            select(Item.id).where(Item.catalog_id == big_catalog.id).order_by(Item.code.desc()).limit(1)
        )
        officer_catalog = session.scalar(
            select(Catalog.id)
            .where(Catalog.county_id == demo.county_id, Catalog.status == CatalogStatus.DRAFT)
            .order_by(Catalog.year.desc())
            .limit(1)
        ) or demo.id
        print(f"  counties in the province: {len(counties)}, with a published catalog: {published}; "
              f"demo catalog {small_items} items, big catalog {big_items} items")
        return {
            "small_items": small_items,
            "big_items": big_items,
            "item_id": item_id,
            "big_item_id": big_item_id,
            "officer_catalog": officer_catalog,
            "small_catalog": demo.id,
        }


def pages(data: dict) -> list[tuple[str, str, bool]]:
    """(label, path, logged in). Public pages first."""
    q = urllib.parse.quote("养老")
    return [
        ("home (151 counties)", "/", False),
        (f"county catalog ({data['small_items']} items)", f"/counties/{DEMO_COUNTY}/{YEAR}", False),
        (f"county catalog ({data['big_items']} items)", f"/counties/{BIG_COUNTY}/{YEAR}", False),
        ("item", f"/items/{data['item_id']}", False),
        ("item of the big catalog", f"/items/{data['big_item_id']}", False),
        ("search ?q=养老 (small)", f"/counties/{DEMO_COUNTY}?q={q}", False),
        ("search ?q=养老 (big)", f"/counties/{BIG_COUNTY}?q={q}", False),
        ("organization directory", "/organizations", False),
        ("officer dashboard", "/manage/catalogs", True),
        ("catalog editor (draft)", f"/manage/catalogs/{data['officer_catalog']}", True),
        ("review queue", "/manage/organizations", True),
    ]


def count_queries(app, page_list) -> dict[str, tuple]:
    """Queries, bytes and status of each page, each in a forked child process (a
    crash of the interpreter, see --soak, is reported instead of ending the run)."""
    import json

    result = {}
    for page in page_list:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(read)
            try:
                from procure.extensions import db

                with app.app_context():
                    db.engine.dispose(close=False)  # the parent's connections stay the parent's
                counted = _count_queries(app, [page])[page[0]]
                os.write(write, json.dumps(counted).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            result[page[0]] = (f"sig{os.WTERMSIG(status)}", 0, 0)
        else:
            result[page[0]] = tuple(json.loads(data)) if data else ("err", 0, 0)
    return result


def _count_queries(app, page_list) -> dict[str, tuple[int, int]]:
    """Queries and bytes of each page, in-process (second request: warm caches)."""
    from sqlalchemy import event

    from procure.demo.services import DEMO_PASSWORD
    from procure.extensions import db

    result = {}
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        anonymous = app.test_client()
        officer = app.test_client()
        html = officer.get("/account/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        officer.post("/account/login", data={"email": OFFICER, "password": DEMO_PASSWORD, "csrf_token": token})
        for label, path, private in page_list:
            client = officer if private else anonymous
            client.get(path)
            client.get(path)  # a signed-in page: the first request confirms the session, the second keeps the page
            statements.clear()
            response = client.get(path)  # the page as most visitors get it (cache hit)
            hit = len(statements)
            try:  # and rendered afresh (no page cache in the code measured: the same)
                from procure.extensions import cache

                with app.app_context():
                    cache.clear()
            except ImportError:
                pass
            statements.clear()
            client.get(path)
            count = f"{len(statements)}/{hit}" if len(statements) != hit else str(hit)
            result[label] = (count, len(response.data), response.status_code)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result


def start(argv: list[str], env: dict[str, str], log_name: str) -> tuple[subprocess.Popen, str]:
    log = open(log_name, "w")
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return proc, log_name


def gunicorn_argv(app_spec: str, port: int, workers: int, threads: int) -> list[str]:
    """``make run``'s web command (workers.devrun), with another app and port."""
    from workers.devrun import commands

    argv = commands("127.0.0.1", port, Path("/dev/null"), "WARNING", workers)["web"]
    argv = [app_spec if a == "procure:create_app()" else a for a in argv]
    if threads:
        i = argv.index("--worker-class")
        argv[i : i + 2] = ["--worker-class", "gthread", "--threads", str(threads)]
    return argv


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"server did not start: {url}")
            time.sleep(0.3)


def login_cookie(base: str) -> str:
    from procure.demo.services import DEMO_PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/account/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"email": OFFICER, "password": DEMO_PASSWORD, "csrf_token": token}).encode()
    opener.open(base + "/account/login", data=body).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookie:
        raise SystemExit("could not log in the demo officer")
    return cookie


def drain(url: str, limit: float = 300.0) -> None:
    """Wait until the server answers ``url`` quickly again: gunicorn keeps serving
    the requests wrk left queued when it stopped (their clients are gone), which
    would otherwise be billed to the next page measured."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            urllib.request.urlopen(url, timeout=limit).read()
        except OSError:
            time.sleep(0.5)
            continue
        if time.perf_counter() - start < 0.5:
            return


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, duration: int, connections: int, cookie: str | None) -> dict:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": lat.get("50", float("nan")), "p99": lat.get("99", float("nan")),
            "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else ""}


SOAK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def soak(env: dict[str, str], page_list, args) -> int:
    """Load rotating over the public pages for ``args.soak`` seconds; report the
    requests served and the workers that died of a signal (SIGSEGV)."""
    env = dict(env, PYTHONFAULTHANDLER="1")  # a crashing worker prints its Python stack
    port = free_port()
    logs = tempfile.mkdtemp(prefix="procure-soak-")
    proc, log = start(gunicorn_argv("procure:create_app()", port, args.workers, args.threads), env,
                      f"{logs}/platform.log")
    base = f"http://127.0.0.1:{port}"
    public = [path for _label, path, private in page_list if not private]
    script = Path(logs) / "rotate.lua"
    script.write_text(SOAK_SCRIPT % ", ".join(f'"{p}"' for p in public))
    try:
        wait_up(base + "/healthz")
        out = subprocess.run(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{args.soak}s", "--timeout", "30s", "-s", str(script), base],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    text = open(log, errors="replace").read()
    served = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    kind = f"gthread, {args.threads} threads" if args.threads else "sync"
    print(f"soak: {args.workers} {kind} workers, {args.soak} s, {len(public)} public pages in rotation")
    print(f"requests: {served.group(1) if served else '?'}; non-2xx: {non2xx.group(1) if non2xx else 0}; "
          f"socket errors: {errors.group(1) if errors else 'none'}")
    print(f"worker crashes: SIGSEGV {text.count('SIGSEGV')}, "
          f"'Fatal Python error' {text.count('Fatal Python error')}; log {log}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per page and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn process workers (the issue measured 2)")
    parser.add_argument("--threads", type=int, default=0, help="gthread workers with N threads instead of sync")
    parser.add_argument("--only", default="", help="measure only pages whose label contains this")
    parser.add_argument("--no-private-cache", action="store_true",
                        help="render the logged-in pages at every request (PROCURE_PRIVATE_PAGE_CACHE=0)")
    parser.add_argument("--logged-in", action="store_true",
                        help="measure only the logged-in pages (officer dashboard, catalog editor, review queue)")
    parser.add_argument("--soak", type=int, default=0,
                        help="only soak: SECONDS of load rotating over the public pages, then count worker crashes")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    url = os.environ.setdefault("PROCURE_DATABASE_URL", DEFAULT_DB)
    ensure_database(url)
    env = dict(os.environ, FLASK_APP="procure", PYTHONPATH=os.pathsep.join(map(str, [BENCH, ROOT / "platform", ROOT])))
    if args.no_private_cache:
        env["PROCURE_PRIVATE_PAGE_CACHE"] = os.environ["PROCURE_PRIVATE_PAGE_CACHE"] = "0"
    env.setdefault("PROCURE_INSTANCE_PATH", tempfile.mkdtemp(prefix="procure-bench-"))
    os.environ["PROCURE_INSTANCE_PATH"] = env["PROCURE_INSTANCE_PATH"]
    print("preparing data (first run: a few minutes) ...", flush=True)
    prepare_data(env)

    from procure import create_app

    app = create_app()
    data = scale_data(app)
    page_list = [p for p in pages(data) if args.only in p[0] and (p[2] or not args.logged_in)]
    if args.soak:
        return soak(env, page_list, args)
    queries = count_queries(app, page_list)
    with app.app_context():
        from procure.extensions import db

        db.engine.dispose()

    ports = {"platform": free_port(), "baseline": free_port()}
    logs = tempfile.mkdtemp(prefix="procure-bench-logs-")
    servers = [
        start(gunicorn_argv("procure:create_app()", ports["platform"], args.workers, args.threads), env,
              f"{logs}/platform.log"),
        start(gunicorn_argv("baseline_app:create_app()", ports["baseline"], args.workers, 0), env,
              f"{logs}/baseline.log"),
    ]
    platform = f"http://127.0.0.1:{ports['platform']}"
    baseline = f"http://127.0.0.1:{ports['baseline']}"
    results: dict[str, list[dict]] = {}
    try:
        wait_up(platform + "/healthz")
        wait_up(baseline + "/hello")
        cookie = login_cookie(platform)
        targets = [("Flask hello", baseline + "/hello", None), ("naive 50-row page", baseline + "/naive", None)]
        targets += [(label, platform + path, cookie if private else None) for label, path, private in page_list]
        for label, target, c in targets:  # warm-up: connections, caches, imports
            wrk(target, 1, 4, c)
            drain(platform + "/healthz")
        for r in range(args.rounds):
            for label, target, c in targets:
                results.setdefault(label, []).append(wrk(target, args.duration, args.connections, c))
                drain(platform + "/healthz")
            print(f"  round {r + 1}/{args.rounds} done", flush=True)
    finally:
        for proc, _ in servers:
            proc.terminate()
        for proc, _ in servers:
            proc.wait(timeout=30)
    crashes = sum(open(log, errors="replace").read().count("SIGSEGV") for _, log in servers)

    def med(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    hello, naive = med("Flask hello", "rps"), med("naive 50-row page", "rps")
    print()
    print(f"gunicorn: {args.workers} {'gthread x' + str(args.threads) if args.threads else 'sync'} workers; "
          f"wrk -t2 -c{args.connections} -d{args.duration}s x {args.rounds} rounds (medians); "
          f"PostgreSQL; {os.cpu_count()} CPUs")
    header = f"{'page':<30} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x hello':>8} {'x naive':>8} {'queries':>9} {'KiB':>7}  target"
    print(header)
    print("-" * len(header))
    small_rps = big_rps = None
    for label, path, private in [("Flask hello", "", False), ("naive 50-row page", "", False), *page_list]:
        rps, p50, p99 = med(label, "rps"), med(label, "p50"), med(label, "p99")
        nq, size, status = queries.get(label, ("", 0, 200))
        if isinstance(nq, str) and nq.startswith("sig"):
            status = nq
        verdict = ""
        if path:
            if private:
                ok = rps >= PRIVATE_NAIVE_RATIO * naive
                verdict = f"{'met' if ok else 'NOT met'} (>= {PRIVATE_NAIVE_RATIO}x naive)"
            else:
                ok = rps >= PUBLIC_HELLO_RATIO * hello and p99 <= PUBLIC_P99_MS
                verdict = f"{'met' if ok else 'NOT met'} (>= {PUBLIC_HELLO_RATIO}x hello, p99 <= {PUBLIC_P99_MS:.0f} ms)"
            if status != 200:
                verdict += f" [status {status}]"
            bad = sum(r["non2xx"] for r in results[label])
            if bad:
                verdict += f" [{bad} non-2xx]"
            timeouts = [r["socket_errors"] for r in results[label] if r["socket_errors"]]
            if timeouts:
                verdict += f" [socket errors: {'; '.join(timeouts)}]"
        if label.startswith("county catalog ("):
            if small_rps is None:
                small_rps = rps
            else:
                big_rps = rps
        print(f"{label:<30} {rps:>8.0f} {p50:>7.1f} {p99:>7.1f} {rps / hello:>8.3f} {rps / naive:>8.2f} "
              f"{nq!s:>9} {size / 1024:>7.1f}  {verdict}")
    if small_rps and big_rps:
        ok = big_rps >= (1 - BIG_VS_SMALL) * small_rps
        print(f"\n5,000-item vs small catalog page: {big_rps / small_rps:.2f} ({'met' if ok else 'NOT met'}: within 20 %)")
    print(f"worker segfaults (SIGSEGV in gunicorn logs): {crashes}; logs in {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
