"""Settings, read from ``PROCURE_*`` environment variables.

Every rule value a province may set differently (clocks, thresholds, weights)
lives here too, never as a literal in the domain code.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"PROCURE_{name}", default)


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(env: str, instance: Path) -> str:
    key = _env("SECRET_KEY")
    if key:
        if env == "production" and len(key) < 32:
            raise ConfigError("PROCURE_SECRET_KEY must be at least 32 characters in production")
        return key
    if env == "production":
        raise ConfigError("PROCURE_SECRET_KEY is required in production")
    # Embedded default: generate once and keep it in instance/ so sessions
    # survive restarts.
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment plus ``overrides``."""
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or _env("ENV", "development")
    instance = Path(overrides.get("INSTANCE_PATH") or _env("INSTANCE_PATH") or DEFAULT_INSTANCE)
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance / 'procure.sqlite'}"
    broker_url = _env("BROKER_URL") or f"sqla+sqlite:///{instance / 'broker.sqlite'}"
    config = {
        "ENV": env,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BROKER_URL": broker_url,
        # Redis-backed rate limits when a Redis broker is configured.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URL")
        or (broker_url if broker_url.startswith("redis") else "memory://"),
        # A lock lasts the whole window after the last counted attempt.
        "RATELIMIT_STRATEGY": "moving-window",
        # Accounts: lifetimes of emailed links (seconds) and rate limits
        # (Flask-Limiter syntax; login limits count failed attempts only).
        "EMAIL_CONFIRM_MAX_AGE": int(_env("EMAIL_CONFIRM_MAX_AGE", str(48 * 3600))),
        "PASSWORD_RESET_MAX_AGE": int(_env("PASSWORD_RESET_MAX_AGE", "3600")),
        "LOGIN_LIMIT_PER_ACCOUNT": _env("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": _env("LOGIN_LIMIT_PER_IP", "30 per 15 minutes"),
        "PASSWORD_RESET_LIMIT_PER_EMAIL": _env("PASSWORD_RESET_LIMIT_PER_EMAIL", "5 per hour"),
        "PASSWORD_RESET_LIMIT_PER_IP": _env("PASSWORD_RESET_LIMIT_PER_IP", "20 per hour"),
        "CONFIRM_RESEND_LIMIT": _env("CONFIRM_RESEND_LIMIT", "3 per 10 minutes"),
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:5000"),
        "TIMEZONE": _env("TIMEZONE", "Asia/Shanghai"),
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "MAIL_FROM": _env("MAIL_FROM", "procure <noreply@procure.local>"),
        # "celery": emails go through the worker; "inline": sent right after commit.
        "EMAIL_DELIVERY": _env("EMAIL_DELIVERY", "celery"),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": {"zh": "中文", "en": "English"},
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": env == "production",
        # Catalog import limits (province config).
        "CATALOG_IMPORT_MAX_ROWS": int(_env("CATALOG_IMPORT_MAX_ROWS", "5000")),
        "CATALOG_IMPORT_MAX_BYTES": int(_env("CATALOG_IMPORT_MAX_BYTES", str(10 * 1024 * 1024))),
        # Organization documents (registration certificate etc.): size limit per file.
        "ORG_DOCUMENT_MAX_BYTES": int(_env("ORG_DOCUMENT_MAX_BYTES", str(5 * 1024 * 1024))),
        "OCDS_PREFIX": _env("OCDS_PREFIX", "ocds-procure-"),
    }
    config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(config["ENV"], Path(config["INSTANCE_PATH"]))
    if config["ENV"] == "production" and config["SECRET_KEY"] in {"dev", "change-me", "secret"}:
        raise ConfigError("PROCURE_SECRET_KEY must be a real secret in production")
    return config
