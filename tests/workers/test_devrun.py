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
