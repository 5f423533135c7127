"""What ``make run`` starts: web under gunicorn process workers, a Celery worker, beat."""
from pathlib import Path

from workers.devrun import commands


def test_web_runs_process_workers_without_threads():
    web = commands("127.0.0.1", 5000, Path("/tmp/schedule"), "INFO", web_workers=1)["web"]
    assert web[web.index("--workers") + 1] == "1"
    assert web[web.index("--worker-class") + 1] == "sync"
    assert "--threads" not in web
    assert web[web.index("--bind") + 1] == "127.0.0.1:5000"


def test_worker_and_beat_are_started_with_the_schedule_file():
    started = commands("127.0.0.1", 5000, Path("/tmp/schedule"), "INFO")
    assert started["worker"][started["worker"].index("-A") + 1] == "workers.celery_app"
    assert "worker" in started["worker"] and "beat" in started["beat"]
    assert started["beat"][started["beat"].index("--schedule") + 1] == "/tmp/schedule"


# --- supervision: real processes --------------------------------------------------------

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from workers.devrun import Supervisor  # noqa: E402

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists": look at its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def supervise(tmp_path):
    running = []

    def run(specs, **options):
        supervisor = Supervisor(specs, dict(os.environ), tmp_path, **options)
        supervisor.start()
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("code", supervisor.watch()), daemon=True)
        thread.start()
        running.append((supervisor, thread))
        return supervisor, thread, result

    yield run
    for supervisor, thread in running:
        supervisor.request_stop(None, None)
        thread.join(timeout=30)
        supervisor.stop()


def _wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_child_is_restarted_and_the_others_keep_running(supervise):
    supervisor, _thread, result = supervise({"web": SLEEPER, "worker": SLEEPER, "beat": SLEEPER}, backoff=0.2)
    web, worker, beat = (supervisor.children[n].pid for n in ("web", "worker", "beat"))
    os.kill(worker, signal.SIGKILL)
    assert _wait_for(lambda: supervisor.children["worker"].pid != worker), "the worker was not restarted"
    new_worker = supervisor.children["worker"].pid
    assert _alive(new_worker) and not _alive(worker)
    assert supervisor.children["web"].pid == web and _alive(web)
    assert supervisor.children["beat"].pid == beat and _alive(beat)
    assert "code" not in result  # devrun keeps running
    # And again: each death is a restart, not the end of the stack.
    os.kill(new_worker, signal.SIGTERM)
    assert _wait_for(lambda: supervisor.children["worker"].pid not in (worker, new_worker))
    assert _alive(supervisor.children["worker"].pid) and _alive(web)


def test_repeated_fast_crashes_back_off_then_give_up_loudly(supervise, capfd):
    supervisor, thread, result = supervise({"web": SLEEPER, "beat": CRASHER}, backoff=0.1, max_fast_crashes=4,
                                           stable_seconds=30)
    web = supervisor.children["web"].pid
    thread.join(timeout=30)
    assert result.get("code") == 1
    # Restarted with a growing back-off, then given up (no 4th restart).
    assert [delay for name, delay in supervisor.restarts if name == "beat"] == [0.1, 0.2, 0.4]
    err = capfd.readouterr().err
    assert "GIVING UP on beat" in err and "4 times in a row" in err
    # Everything was stopped with it.
    assert not _alive(web)


def test_a_child_that_ran_long_enough_starts_a_fresh_count(supervise):
    flaky = [sys.executable, "-c", "import time, sys; time.sleep(0.4); sys.exit(1)"]
    supervisor, thread, result = supervise({"worker": flaky}, backoff=0.05, max_fast_crashes=2, stable_seconds=0.3)
    assert _wait_for(lambda: len(supervisor.restarts) >= 4, timeout=20)
    assert "code" not in result  # it lived past stable_seconds each time: never given up
    assert {delay for _name, delay in supervisor.restarts} == {0.05}
