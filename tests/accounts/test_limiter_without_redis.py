"""With Redis unreachable the site keeps signing people in: the login and
reset limits go on in this process's memory (with a logged warning), and the
limiter returns to Redis when it answers again. A real redis-server on a free
port, stopped and restarted by the test."""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time

import pytest

from procure import create_app
from procure.extensions import limiter
from tests import factories
from tests.conftest import IsolatedClient, csrf_token

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")

EMAIL = "o@example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)

    def keys(self) -> list:
        return self.client().keys("*")


@pytest.fixture
def redis_server():
    server = RedisServer(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_app(app, app_ctx, redis_server, database_url, tmp_path):
    """An app whose rate limits live on ``redis_server`` (the limiter is a
    process-wide singleton: its state is put back for the other tests)."""
    saved = dict(vars(limiter))
    other = create_app({
        "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path), "EMAIL_DELIVERY": "inline",
        "SMTP_HOST": app.config["SMTP_HOST"], "SMTP_PORT": app.config["SMTP_PORT"],
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_server.port}/0",
        "LOGIN_LIMIT_PER_IP": "1000 per 15 minutes",
    })
    other.test_client_class = IsolatedClient
    try:
        yield other
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)


def _post_login(client, password):
    return client.post("/account/login", data={"email": EMAIL, "password": password,
                                               "csrf_token": csrf_token(client)})


def test_login_and_reset_work_while_redis_is_down_and_limits_return_to_redis(redis_app, redis_server, caplog,
                                                                            monkeypatch):
    # Alembic's logging.config.fileConfig (the migrations of the test session)
    # disables loggers that existed before it; a web process runs no migrations.
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    factories.officer(email=EMAIL)
    client = redis_app.test_client()

    # Redis up: a failed login is counted there.
    assert _post_login(client, "wrong password 1").status_code == 200
    assert redis_server.keys(), "the failed login was not counted in Redis"

    redis_server.stop()
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    response = _post_login(client, factories.PASSWORD)
    assert response.status_code == 302, response.status_code  # signed in, not a 500
    assert time.monotonic() - started < 5
    assert any("in-memory" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]

    reset = client.post("/account/reset", data={"email": EMAIL, "csrf_token": csrf_token(client, "/account/reset")})
    assert reset.status_code == 302

    # The per-account lock still holds, in this process's memory.
    stranger = redis_app.test_client()
    answers = [_post_login(stranger, f"wrong password {n}").status_code for n in range(6)]
    assert answers[:5] == [200] * 5 and answers[5] == 429, answers

    # Redis is back: the limiter returns to it (it re-checks with back-off).
    redis_server.start()
    assert redis_server.keys() == []
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        # Any request that is rate-limited (reads are not: procure.extensions)
        # lets the limiter re-check its storage.
        client.post("/account/login", data={"email": "nobody@example.com", "password": "x",
                                            "csrf_token": csrf_token(client)})
        if not limiter._storage_dead:
            break
        time.sleep(0.5)
    assert not limiter._storage_dead, "the limiter did not return to Redis"
    fresh = redis_app.test_client()
    factories.user(email="second@example.com")
    fresh.post("/account/login", data={"email": "second@example.com", "password": "wrong password x",
                                       "csrf_token": csrf_token(fresh)})
    assert redis_server.keys(), "failed logins are not counted in Redis again"
