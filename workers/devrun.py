"""``python -m workers.devrun``: what ``make run`` runs.

Starts, side by side, the site on http://127.0.0.1:5000 (gunicorn, process workers),
a Celery worker and Celery beat (schedule file in instance/). They run on the
embedded defaults (SQLite database and broker in instance/, no Redis needed),
or on ``PROCURE_DATABASE_URL`` / ``PROCURE_BROKER_URL`` when set.

Ctrl-C (SIGINT) or SIGTERM stops all of them. If one dies, it is restarted
with back-off while the others keep running; a child that keeps crashing right
after it starts is given up loudly: everything is stopped and devrun exits
non-zero. The database must be migrated first
(``make run`` does it: ``flask db upgrade heads`` and ``flask demo load``).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_GRACE_SECONDS = 15
# A dead child is restarted after 1, 2, 4, 8, ... seconds (at most 30); after 5
# crashes in a row, each within 30 s of starting, devrun gives up loudly.
RESTART_BACKOFF_SECONDS = 1.0
RESTART_BACKOFF_MAX_SECONDS = 30.0
MAX_FAST_CRASHES = 5
STABLE_SECONDS = 30.0


def _die_with_parent() -> None:
    """In the child: get SIGTERM if devrun itself dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _say(message: str, err: bool = False) -> None:
    """Print, never failing: when the terminal or a pipe (``make run | tee``)
    has gone away, the children must still be stopped."""
    try:
        print(message, file=sys.stderr if err else sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


def commands(host: str, port: int, schedule_file: Path, loglevel: str, web_workers: int = 3) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [
            python, "-m", "gunicorn", "procure:create_app()",
            # Process workers, not threads. CPython 3.11 (3.11.7 and Debian's
            # 3.11.2 alike, 3.12.1 not) can segfault in the garbage collector
            # after heavy ORM loads in a request, with or without threads and
            # with no third-party C extension loaded (bench/web_load.py --soak);
            # a sync worker that dies takes one request with it, and gunicorn
            # replaces it.
            "--bind", f"{host}:{port}", "--workers", str(web_workers), "--worker-class", "sync",
            "--access-logfile", "-", "--graceful-timeout", "5", "--no-control-socket",
        ],
        "worker": [
            python, "-m", "celery", "-A", "workers.celery_app", "worker",
            "--loglevel", loglevel, "--concurrency", "2", "--hostname", "procure@%h",
        ],
        "beat": [
            python, "-m", "celery", "-A", "workers.celery_app", "beat",
            "--loglevel", loglevel, "--schedule", str(schedule_file),
        ],
    }


def banner(app, url: str) -> str:
    from procure.demo.services import DEMO_ACCOUNTS, DEMO_PASSWORD

    lines = [
        "",
        f"  procure is starting on {url}",
        f"  database: {_safe(app.config['SQLALCHEMY_DATABASE_URI'])}",
        f"  broker:   {_safe(app.config['BROKER_URL'])}",
        "  demo logins (password: " + DEMO_PASSWORD + "):",
    ]
    for account in DEMO_ACCOUNTS:
        email, name, role = account[0], account[1], account[2]
        lines.append(f"    {email:<36} {name} ({getattr(role, 'value', role)})")
    try:  # demo organizations' administrators, where that demo data exists
        from procure.demo.organizations import DEMO_ORGS
    except ImportError:
        DEMO_ORGS = []
    for org in DEMO_ORGS:
        email, name, status = getattr(org, "email", ""), getattr(org, "name", ""), getattr(org, "status", "")
        lines.append(f"    {email:<36} {name} ({status})")
    lines += ["  Ctrl-C stops the site, the worker and beat.", ""]
    return "\n".join(lines)


def _safe(url: str) -> str:
    """A URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        scheme, rest = url.split("+", 1) if url.startswith(("sqla+", "sqlalchemy+")) else ("", url)
        shown = make_url(rest).render_as_string(hide_password=True)
        return f"{scheme}+{shown}" if scheme else shown
    except Exception:
        return url.split("@")[-1]


class Supervisor:
    """Starts the children and keeps them running, as a process manager would:
    a child that dies is restarted after a back-off (``backoff`` seconds,
    doubling up to ``max_backoff``) while the others keep running. A child
    that crashes ``max_fast_crashes`` times in a row, each time less than
    ``stable_seconds`` after it started, is not restarted again: devrun says
    so loudly, stops everything and exits non-zero."""

    def __init__(self, procs: dict[str, list[str]], env: dict[str, str], cwd: Path, *,
                 backoff: float = RESTART_BACKOFF_SECONDS, max_backoff: float = RESTART_BACKOFF_MAX_SECONDS,
                 max_fast_crashes: int = MAX_FAST_CRASHES, stable_seconds: float = STABLE_SECONDS):
        self.specs = procs
        self.env = env
        self.cwd = cwd
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_fast_crashes = max_fast_crashes
        self.stable_seconds = stable_seconds
        self.children: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.fast_crashes: dict[str, int] = {}
        self.restart_at: dict[str, float] = {}  # dead children waiting for their restart
        self.restarts: list[tuple[str, float]] = []  # (name, back-off) of every scheduled restart
        self.stopping = False

    def _spawn(self, name: str) -> None:
        # Own session: the terminal's Ctrl-C reaches devrun only, which
        # then stops the children in order (no double signals).
        self.children[name] = subprocess.Popen(
            self.specs[name], cwd=self.cwd, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.started_at[name] = time.monotonic()
        _say(f"devrun: started {name} (pid {self.children[name].pid})")

    def start(self) -> None:
        for name in self.specs:
            self.fast_crashes[name] = 0
            self._spawn(name)

    def _child_died(self, name: str, code: int) -> bool:
        """Schedule the restart of a dead child; False when it is given up."""
        child = self.children[name]
        _signal_group(child, signal.SIGKILL)  # leftovers of its group (pool processes, workers)
        lived = time.monotonic() - self.started_at[name]
        if lived >= self.stable_seconds:
            self.fast_crashes[name] = 0
        self.fast_crashes[name] += 1
        crashes = self.fast_crashes[name]
        if crashes >= self.max_fast_crashes:
            _say(
                f"devrun: GIVING UP on {name}: it crashed {crashes} times in a row, each within "
                f"{self.stable_seconds:g} s of starting (last exit code {code}); stopping everything. "
                f"Read its output above.",
                err=True,
            )
            return False
        delay = min(self.backoff * 2 ** (crashes - 1), self.max_backoff)
        self.restart_at[name] = time.monotonic() + delay
        self.restarts.append((name, delay))
        _say(f"devrun: {name} exited with code {code} after {lived:.1f} s; restarting it in {delay:g} s", err=True)
        return True

    def watch(self) -> int:
        """Keep the children running until a signal asks to stop (0), or a
        child keeps crashing (1)."""
        while not self.stopping:
            now = time.monotonic()
            for name, child in list(self.children.items()):
                if name in self.restart_at:
                    if now >= self.restart_at[name]:
                        del self.restart_at[name]
                        self._spawn(name)
                    continue
                code = child.poll()
                if code is not None and not self.stopping and not self._child_died(name, code):
                    self.stop()
                    return 1
            time.sleep(0.2)
        self.stop()
        return 0

    def request_stop(self, signum, frame) -> None:
        self.stopping = True

    def stop(self) -> None:
        self.restart_at.clear()
        alive = {n: c for n, c in self.children.items() if c.poll() is None}
        for name, child in alive.items():
            _say(f"devrun: stopping {name}")
            # The main process only: it stops its own pool processes cleanly.
            try:
                child.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in alive.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"devrun: {name} did not stop in time; killing it", err=True)
                _signal_group(child, signal.SIGKILL)
                child.wait()
        # Leftovers of a child's group (e.g. pool processes of a killed worker).
        for child in self.children.values():
            _signal_group(child, signal.SIGKILL)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.devrun", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("PROCURE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PROCURE_PORT", "5000")))
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args(argv)

    from procure import create_app
    from procure.config import PROJECT_ROOT
    from procure.queue import prepare_broker

    # In the parent first: the embedded secret key is generated once and the
    # embedded broker's tables exist before three processes open them.
    app = create_app()
    prepare_broker(app.config)
    url = f"http://{args.host}:{args.port}"

    env = dict(os.environ)
    env.setdefault("PROCURE_BASE_URL", url)
    env["PYTHONUNBUFFERED"] = "1"
    schedule_file = Path(app.config["INSTANCE_PATH"]) / "celerybeat-schedule"
    # Login rate limits kept in memory are per process: with no shared (Redis)
    # storage, one web process, so that a lockout really locks.
    shared_limits = not app.config["RATELIMIT_STORAGE_URI"].startswith("memory")
    web_workers = 3 if shared_limits else 1
    supervisor = Supervisor(
        commands(args.host, args.port, schedule_file, args.loglevel, web_workers), env, PROJECT_ROOT
    )

    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    _say(banner(app, url))
    supervisor.start()
    code = supervisor.watch()
    _say("devrun: all stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
