"""Settings from PROCURE_* environment variables; the secret key rules.

Apps that start are built with ``config.load`` (what ``create_app`` reads):
``create_app`` would re-bind the extension singletons (e.g. the rate
limiter's storage) of the session's test app."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from procure import config, create_app
from procure.config import ConfigError

STRONG_KEY = "k3J9x-Qw7pLz2RtV8mNc4BsY6hFd0GaE1uXoIi5"
SEAL_KEYS = "k1:" + "A" * 43 + "=,k2:" + "B" * 43 + "="


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean PROCURE_* environment with its own instance folder."""
    for name in list(os.environ):
        if name.startswith("PROCURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PROCURE_INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


def test_production_refuses_to_start_without_a_secret_key(env):
    env.setenv("PROCURE_ENV", "production")
    with pytest.raises(ConfigError, match="required"):
        create_app()


@pytest.mark.parametrize(
    "weak",
    [
        "short-key",
        "change-me-change-me-change-me-change-me",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "your-secret-key-goes-here-0123456789abcdef",
    ],
)
def test_production_refuses_a_weak_secret_key(env, weak):
    env.setenv("PROCURE_ENV", "production")
    env.setenv("PROCURE_SECRET_KEY", weak)
    with pytest.raises(ConfigError):
        create_app()


def test_production_refuses_a_weak_key_given_as_override(env):
    env.setenv("PROCURE_ENV", "production")
    with pytest.raises(ConfigError):
        create_app({"SECRET_KEY": "dev"})


def test_production_starts_with_a_real_key_and_writes_no_key_file(env, tmp_path):
    env.setenv("PROCURE_ENV", "production")
    env.setenv("PROCURE_SECRET_KEY", STRONG_KEY)
    env.setenv("PROCURE_SEAL_KEYS", SEAL_KEYS)
    loaded = config.load()
    assert loaded["SECRET_KEY"] == STRONG_KEY
    assert loaded["SEAL_KEY_ID"] == "k2" and set(loaded["SEAL_KEYS"]) == {"k1", "k2"}
    assert not (tmp_path / "instance" / "secret_key").exists()
    assert not (tmp_path / "instance" / "seal_keys").exists()


def test_production_refuses_to_start_without_a_seal_key(env):
    env.setenv("PROCURE_ENV", "production")
    env.setenv("PROCURE_SECRET_KEY", STRONG_KEY)
    with pytest.raises(ConfigError, match="PROCURE_SEAL_KEYS is required"):
        config.load()


@pytest.mark.parametrize("bad", ["k1:short", "k1:not base64!", ":" + "A" * 44])
def test_bad_seal_keys_are_refused(env, bad):
    env.setenv("PROCURE_SEAL_KEYS", bad)
    with pytest.raises(ConfigError):
        config.load()


def test_embedded_seal_key_is_generated_once_and_private(env, tmp_path):
    first = config.load()["SEAL_KEYS"]
    path = tmp_path / "instance" / "seal_keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load()["SEAL_KEYS"] == first and len(next(iter(first.values()))) == 32


def test_production_from_a_shell_exits_with_the_reason():
    """What an operator sees: the process refuses to start, and says why."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PROCURE_")}
    environ["PROCURE_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-c", "import procure; procure.create_app()"],
        env=environ, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "PROCURE_SECRET_KEY is required in production" in result.stderr


def test_embedded_key_is_generated_once_private_and_reused(env, tmp_path):
    first = config.load()["SECRET_KEY"]
    path = tmp_path / "instance" / "secret_key"
    assert path.read_text().strip() == first
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = config.load()["SECRET_KEY"]
    assert second == first


def test_embedded_key_is_the_same_for_processes_starting_together(env, tmp_path):
    instance = tmp_path / "instance"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: config._embedded_secret_key(instance), range(32)))
    assert len(keys) == 1
    assert sorted(p.name for p in instance.iterdir()) == ["secret_key"]


def test_env_key_wins_over_the_embedded_one(env, tmp_path):
    env.setenv("PROCURE_SECRET_KEY", "from-the-environment")
    assert config.load()["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_embedded_defaults_live_in_the_instance_folder(env, tmp_path):
    cfg = config.load()
    instance = tmp_path / "instance"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'procure.sqlite'}"
    assert cfg["BROKER_URL"] == f"sqla+sqlite:///{instance / 'broker.sqlite'}"
    assert cfg["TIMEZONE"] == "Asia/Shanghai"
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert cfg["SESSION_COOKIE_SECURE"] is False


def test_environment_overrides(env):
    env.setenv("PROCURE_DATABASE_URL", "postgresql+psycopg://procure@db:5432/procure")
    env.setenv("PROCURE_BROKER_URL", "redis://redis:6379/0")
    env.setenv("PROCURE_SECRET_KEY", STRONG_KEY)
    env.setenv("PROCURE_SMTP_HOST", "mail")
    env.setenv("PROCURE_SMTP_PORT", "1025")
    env.setenv("PROCURE_BASE_URL", "https://procure.example.gov.cn")
    env.setenv("PROCURE_TIMEZONE", "Asia/Urumqi")
    env.setenv("PROCURE_TASK_QUEUE", "county")
    env.setenv("PROCURE_CATALOG_IMPORT_MAX_ROWS", "100")
    cfg = config.load()
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://procure@db:5432/procure"
    assert cfg["BROKER_URL"] == "redis://redis:6379/0"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
    assert cfg["SMTP_HOST"] == "mail"
    assert cfg["SMTP_PORT"] == 1025
    assert cfg["BASE_URL"] == "https://procure.example.gov.cn"
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["TIMEZONE"] == "Asia/Urumqi"
    assert cfg["TASK_QUEUE"] == "county"
    assert cfg["CATALOG_IMPORT_MAX_ROWS"] == 100


def test_create_app_overrides_win_over_the_environment(env, tmp_path):
    env.setenv("PROCURE_SMTP_HOST", "mail")
    cfg = config.load({"SMTP_HOST": "other", "TESTING": True})
    assert cfg["SMTP_HOST"] == "other"
    assert cfg["TESTING"] is True
