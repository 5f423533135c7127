"""Rate-limit counters live in Redis when the broker is Redis (shared by every
web process), in memory otherwise; locks use a moving window."""
import os
import time
import uuid

import pytest

from procure import config as config_module


def _load(monkeypatch, tmp_path, **env):
    for name in ("PROCURE_BROKER_URL", "PROCURE_RATELIMIT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return config_module.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 40})


def test_redis_broker_means_redis_rate_limits(monkeypatch, tmp_path):
    config = _load(monkeypatch, tmp_path, PROCURE_BROKER_URL="redis://127.0.0.1:6379/0")
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["RATELIMIT_STRATEGY"] == "moving-window"


def test_embedded_broker_means_memory(monkeypatch, tmp_path):
    assert _load(monkeypatch, tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"


def test_explicit_storage_wins(monkeypatch, tmp_path):
    config = _load(monkeypatch, tmp_path, PROCURE_BROKER_URL="redis://127.0.0.1:6379/0",
                   PROCURE_RATELIMIT_STORAGE_URL="redis://127.0.0.1:6379/5")
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/5"


@pytest.mark.skipif(not os.environ.get("PROCURE_TEST_REDIS_URL"), reason="PROCURE_TEST_REDIS_URL not set")
def test_login_limit_locks_on_redis_storage():
    """The storage and strategy the app uses with a Redis broker, on the real Redis."""
    from limits import parse, storage, strategies

    store = storage.storage_from_string(os.environ["PROCURE_TEST_REDIS_URL"])
    limiter = strategies.MovingWindowRateLimiter(store)
    limit = parse("5 per 15 minutes")
    key = f"procure-test-login-{uuid.uuid4().hex}"
    try:
        for _ in range(5):
            assert limiter.test(limit, key)
            assert limiter.hit(limit, key)
        assert not limiter.test(limit, key)
        reset_at = limiter.get_window_stats(limit, key).reset_time
        assert time.time() + 14 * 60 < reset_at <= time.time() + 15 * 60 + 1
    finally:
        limiter.clear(limit, key)
    assert limiter.test(limit, key)
