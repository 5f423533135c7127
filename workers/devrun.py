"""``python -m workers.devrun``: what ``make run`` runs.

Starts, side by side, the site on http://127.0.0.1:5000 (gunicorn, process workers),
a Celery worker and Celery beat (schedule file in instance/). They run on the
embedded defaults (SQLite database and broker in instance/, no Redis needed),
or on ``PROCURE_DATABASE_URL`` / ``PROCURE_BROKER_URL`` when set.

Ctrl-C (SIGINT) or SIGTERM stops all of them; if one dies, the others are
stopped and devrun exits non-zero. The database must be migrated first
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
            # Process workers, not threads: CPython 3.11.7 here segfaults in the
            # garbage collector under threaded rendering (seen with --threads 8).
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
    def __init__(self, procs: dict[str, list[str]], env: dict[str, str], cwd: Path):
        self.specs = procs
        self.env = env
        self.cwd = cwd
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self) -> None:
        for name, argv in self.specs.items():
            # Own session: the terminal's Ctrl-C reaches devrun only, which
            # then stops the children in order (no double signals).
            self.children[name] = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
            )
            _say(f"devrun: started {name} (pid {self.children[name].pid})")

    def watch(self) -> int:
        """Wait until a signal asks to stop (0) or a child dies (1)."""
        while not self.stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    _say(f"devrun: {name} exited with code {code}; stopping the others", err=True)
                    self.stop()
                    return 1
            time.sleep(0.3)
        self.stop()
        return 0

    def request_stop(self, signum, frame) -> None:
        self.stopping = True

    def stop(self) -> None:
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
