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


# Uploaded ZIP-based files (procure.archives): checked from the central
# directory before anything is decompressed.
ARCHIVE_DEFAULTS = {
    "ARCHIVE_MAX_ENTRIES": 1000,
    "ARCHIVE_MAX_UNCOMPRESSED_BYTES": 100 * 1024 * 1024,
    "ARCHIVE_MAX_RATIO": 100,
    "ARCHIVE_RATIO_MIN_BYTES": 1024 * 1024,
}


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"PROCURE_{name}", default)


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Placeholders people paste from examples; never accepted in production.
WEAK_KEY_MARKERS = ("change-me", "changeme", "change_me", "replace-me", "your-secret", "example", "dev-secret")
MIN_PRODUCTION_KEY_LENGTH = 32


def check_production_key(key: str | None) -> None:
    """Refuse a missing, short, placeholder or low-entropy key in production."""
    if not key:
        raise ConfigError("PROCURE_SECRET_KEY is required in production")
    if len(key) < MIN_PRODUCTION_KEY_LENGTH:
        raise ConfigError(
            f"PROCURE_SECRET_KEY must be at least {MIN_PRODUCTION_KEY_LENGTH} characters in production"
        )
    lowered = key.lower()
    if any(marker in lowered for marker in WEAK_KEY_MARKERS) or len(set(key)) < 10:
        raise ConfigError("PROCURE_SECRET_KEY must be a real random secret in production")


def _embedded_secret_key(instance: Path) -> str:
    """Generate the key once and keep it in instance/ (mode 0600), so sessions
    survive restarts. Safe when several processes start at once (web, worker,
    beat): the file appears atomically, complete, or not at all."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        tmp = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)  # fails if another process won the race
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it to generate a new key")
    return key


def _secret_key(env: str, instance: Path) -> str:
    key = _env("SECRET_KEY")
    if env == "production":
        check_production_key(key)
        return key
    return key or _embedded_secret_key(instance)


def _embedded_seal_keys(instance: Path) -> str:
    """Development: one AES-256 key generated once into instance/seal_keys
    (mode 0600), like the secret key. Format ``kid:base64key``."""
    import base64

    path = instance / "seal_keys"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        tmp = instance / f".seal_keys.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write("k1:" + base64.b64encode(secrets.token_bytes(32)).decode())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def parse_seal_keys(text: str | None) -> dict[str, bytes]:
    """``kid:base64key[,kid:base64key...]`` -> {kid: 32-byte key}."""
    import base64
    import binascii

    keys: dict[str, bytes] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        kid, _, b64 = part.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise ConfigError(f"PROCURE_SEAL_KEYS: key {kid!r} is not base64") from None
        if not kid or len(kid) > 16 or not kid.isalnum() or len(key) != 32:
            raise ConfigError("PROCURE_SEAL_KEYS: each key is kid:base64 of 32 bytes, kid alphanumeric")
        keys[kid] = key
    return keys


def _seal_keys(env: str, instance: Path) -> str:
    text = _env("SEAL_KEYS")
    if env == "production" and not text:
        raise ConfigError("PROCURE_SEAL_KEYS is required in production (bid encryption key, kept out of the database)")
    return text or _embedded_seal_keys(instance)


# Procurement methods (domain.md, province config): minimum bidders, minimum
# period from the documents being available to the bid deadline (calendar or
# working days), the evaluation methods allowed, and how many calendar days
# before the bid deadline an amendment may still be published without moving it.
PROCUREMENT_METHODS: dict[str, dict] = {
    "open_tender": {"min_bidders": 3, "min_period": 20, "period_unit": "calendar_days",
                    "evaluation": ["comprehensive", "lowest_price"], "amend_min_days": 15},
    "invited_tender": {"min_bidders": 3, "min_period": 20, "period_unit": "calendar_days",
                       "evaluation": ["comprehensive", "lowest_price"], "amend_min_days": 15},
    "competitive_consultation": {"min_bidders": 3, "min_period": 10, "period_unit": "calendar_days",
                                 "evaluation": ["comprehensive"], "amend_min_days": 5},
    "competitive_negotiation": {"min_bidders": 3, "min_period": 3, "period_unit": "working_days",
                                "evaluation": ["lowest_price"], "amend_min_days": 3},
    "request_for_quotation": {"min_bidders": 3, "min_period": 3, "period_unit": "working_days",
                              "evaluation": ["lowest_price"], "amend_min_days": 3},
    "single_source": {"min_bidders": 1, "min_period": 5, "period_unit": "working_days",
                      "evaluation": ["negotiated"], "amend_min_days": 3},
}


def load(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment plus ``overrides``."""
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or _env("ENV", "development")
    instance = Path(overrides.get("INSTANCE_PATH") or _env("INSTANCE_PATH") or DEFAULT_INSTANCE)
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance / 'procure.sqlite'}"
    # Embedded broker: kombu's SQLAlchemy transport on a SQLite file (kombu's
    # filesystem:// transport crashes under load, kombu issue 1551).
    broker_url = _env("BROKER_URL") or f"sqla+sqlite:///{instance / 'broker.sqlite'}"
    base_url = _env("BASE_URL", "http://127.0.0.1:5000")
    config = {
        "ENV": env,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BROKER_URL": broker_url,
        # Celery queue the web enqueues to and the worker consumes.
        "TASK_QUEUE": _env("TASK_QUEUE", "procure"),
        # Redis-backed rate limits when a Redis broker is configured.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URL")
        or (broker_url if broker_url.startswith("redis") else "memory://"),
        # A lock lasts the whole window after the last counted attempt.
        "RATELIMIT_STRATEGY": "moving-window",
        # Redis unreachable: the limits go on in this process's memory (a
        # warning is logged) and Flask-Limiter returns to Redis once it
        # answers again (checked with back-off); any other limiter error is
        # logged, never a 500. Short timeouts: a hung Redis must not hang logins.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Accounts: lifetimes of emailed links (seconds) and rate limits
        # (Flask-Limiter syntax; login limits count failed attempts only).
        "EMAIL_CONFIRM_MAX_AGE": int(_env("EMAIL_CONFIRM_MAX_AGE", str(48 * 3600))),
        "PASSWORD_RESET_MAX_AGE": int(_env("PASSWORD_RESET_MAX_AGE", "3600")),
        "LOGIN_LIMIT_PER_ACCOUNT": _env("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": _env("LOGIN_LIMIT_PER_IP", "30 per 15 minutes"),
        "PASSWORD_RESET_LIMIT_PER_EMAIL": _env("PASSWORD_RESET_LIMIT_PER_EMAIL", "5 per hour"),
        "PASSWORD_RESET_LIMIT_PER_IP": _env("PASSWORD_RESET_LIMIT_PER_IP", "20 per hour"),
        "CONFIRM_RESEND_LIMIT": _env("CONFIRM_RESEND_LIMIT", "3 per 10 minutes"),
        # Invitations to join an organization, per organization and per inviting account.
        "INVITE_LIMIT_PER_ORGANIZATION": _env("INVITE_LIMIT_PER_ORGANIZATION", "20 per hour"),
        "INVITE_LIMIT_PER_ACCOUNT": _env("INVITE_LIMIT_PER_ACCOUNT", "10 per hour"),
        # An organization registered with a new account whose email is never
        # confirmed holds no credit code and is deleted after this many days.
        "UNCONFIRMED_REGISTRATION_DAYS": float(_env("UNCONFIRMED_REGISTRATION_DAYS", "7")),
        # "You already have an account" emails (registration with a known
        # address): at most one per account in this many seconds.
        "ACCOUNT_EXISTS_EMAIL_INTERVAL": int(_env("ACCOUNT_EXISTS_EMAIL_INTERVAL", "3600")),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are
        # trusted (0: none). Per-IP limits need the real client address.
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", "0")),
        "BASE_URL": base_url,
        "TIMEZONE": _env("TIMEZONE", "Asia/Shanghai"),
        # Key of natural persons' encrypted identity numbers (derived from
        # SECRET_KEY when empty; set it before ever rotating SECRET_KEY).
        "IDENTITY_KEY": _env("IDENTITY_KEY", ""),
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "MAIL_FROM": _env("MAIL_FROM", "procure <noreply@procure.local>"),
        # The display name of the From header (RFC 2047-encoded when Chinese).
        "MAIL_FROM_NAME": _env("MAIL_FROM_NAME", "政府购买服务平台"),
        "SMTP_TIMEOUT": int(_env("SMTP_TIMEOUT", "30")),
        # Outside production only: every email goes to this one address
        # (a staging copy of real data never mails real organizations).
        "EMAIL_REDIRECT_TO": _env("EMAIL_REDIRECT_TO"),
        # Delivery (notifications/delivery.py): emails per worker task; rows
        # claimed at once; a claim older than this many seconds is taken over;
        # a pending email not sent after this many seconds is handed on again
        # by the outbox sweep (harmless if its first hand-off is merely
        # queued: the claim lets one sender win).
        "EMAIL_BATCH_SIZE": int(_env("EMAIL_BATCH_SIZE", "200")),
        "EMAIL_CLAIM_CHUNK": int(_env("EMAIL_CLAIM_CHUNK", "100")),
        # "sent" marks committed together: a worker killed may have up to this
        # many delivered but unmarked emails, sent again with the same
        # Message-ID (1: one commit per email, at most one such copy).
        "EMAIL_MARK_GROUP": int(_env("EMAIL_MARK_GROUP", "20")),
        "EMAIL_CLAIM_TIMEOUT": int(_env("EMAIL_CLAIM_TIMEOUT", "90")),
        "EMAIL_PENDING_GRACE": int(_env("EMAIL_PENDING_GRACE", "30")),
        # Alerts and reminders: hours before a bid deadline when reminders go
        # out; rows the planner writes per transaction; local time of the
        # daily digests (alerts digest, officers' due work).
        "REMINDER_OFFSETS_HOURS": tuple(
            int(h) for h in (_env("REMINDER_OFFSETS_HOURS", "72,24,2") or "").split(",") if h.strip()
        ),
        "PLANNER_BATCH_SIZE": int(_env("PLANNER_BATCH_SIZE", "500")),
        "DIGEST_HOUR": int(_env("DIGEST_HOUR", "7")),
        # Embedded broker: delivered messages older than this many seconds are
        # deleted from kombu's table by the prune_broker job.
        "BROKER_PRUNE_AGE": int(_env("BROKER_PRUNE_AGE", "3600")),
        # Embedded broker: seconds a worker waits before it looks at an empty
        # queue again (kombu's default of 1 s delays every first batch).
        "BROKER_POLLING_INTERVAL": float(_env("BROKER_POLLING_INTERVAL", "0.1")),
        # One-click unsubscribe links stay valid this many seconds.
        "UNSUBSCRIBE_MAX_AGE": int(_env("UNSUBSCRIBE_MAX_AGE", str(180 * 24 * 3600))),
        # "celery": emails go through the worker; "inline": sent right after commit.
        "EMAIL_DELIVERY": _env("EMAIL_DELIVERY", "celery"),
        # Attempts per email before it is left "failed" for good: the worker's
        # quick retries (seconds to minutes) cover short SMTP hiccups; the outbox
        # sweep then retries hourly, so an outage of most of a day loses nothing.
        "EMAIL_MAX_ATTEMPTS": int(_env("EMAIL_MAX_ATTEMPTS", "24")),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": {"zh": "中文", "en": "English"},
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies whenever the site is served over https (a production
        # site behind http only, e.g. compose on localhost, still logs in).
        "SESSION_COOKIE_SECURE": _bool("COOKIE_SECURE", base_url.startswith("https://")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("COOKIE_SECURE", base_url.startswith("https://")),
        # Catalog import limits (province config).
        "CATALOG_IMPORT_MAX_ROWS": int(_env("CATALOG_IMPORT_MAX_ROWS", "5000")),
        "CATALOG_IMPORT_MAX_BYTES": int(_env("CATALOG_IMPORT_MAX_BYTES", str(10 * 1024 * 1024))),
        # Catalog pages: above this many items a catalog's tree shows categories
        # only, and a category's items on a page of their own (light on a phone).
        "CATALOG_TREE_INLINE_ITEMS": int(_env("CATALOG_TREE_INLINE_ITEMS", "300")),
        # Decompression-bomb limits of uploaded archives (see ARCHIVE_DEFAULTS).
        **{name: int(_env(name, str(default))) for name, default in ARCHIVE_DEFAULTS.items()},
        # Organization documents (registration certificate etc.): size limit per file.
        "ORG_DOCUMENT_MAX_BYTES": int(_env("ORG_DOCUMENT_MAX_BYTES", str(5 * 1024 * 1024))),
        # Evaluation, award, challenges, contracts (domain.md "Legal clocks").
        # wd = working days of the official calendar, d = calendar days; the day
        # of the event is not counted; a period ends at 24:00 Asia/Shanghai.
        "RESULT_PUBLICITY_WORKDAYS": int(_env("RESULT_PUBLICITY_WORKDAYS", "1")),
        # Challenges against the tender documents: until this many wd after publication.
        "CHALLENGE_DOCUMENTS_WORKDAYS": int(_env("CHALLENGE_DOCUMENTS_WORKDAYS", "7")),
        # Challenges against the process or the result: until this many wd after the publicity ends.
        "CHALLENGE_RESULT_WORKDAYS": int(_env("CHALLENGE_RESULT_WORKDAYS", "7")),
        "CHALLENGE_REPLY_WORKDAYS": int(_env("CHALLENGE_REPLY_WORKDAYS", "7")),
        "CHALLENGE_EVIDENCE_MAX_BYTES": int(_env("CHALLENGE_EVIDENCE_MAX_BYTES", str(10 * 1024 * 1024))),
        # Contract signed within this many d of the result notice; flagged this many d before.
        "CONTRACT_SIGNING_DAYS": int(_env("CONTRACT_SIGNING_DAYS", "30")),
        "CONTRACT_WARNING_DAYS": int(_env("CONTRACT_WARNING_DAYS", "5")),
        # Contract term limits in months: ordinary and stable recurring services.
        "CONTRACT_MAX_TERM_MONTHS": int(_env("CONTRACT_MAX_TERM_MONTHS", "12")),
        "CONTRACT_MAX_TERM_MONTHS_RECURRING": int(_env("CONTRACT_MAX_TERM_MONTHS_RECURRING", "36")),
        "CONTRACT_FILE_MAX_BYTES": int(_env("CONTRACT_FILE_MAX_BYTES", str(10 * 1024 * 1024))),
        "OCDS_PREFIX": _env("OCDS_PREFIX", "ocds-procure-"),
        # Tenders and sealed bids (province config).
        "PROCUREMENT_METHODS": PROCUREMENT_METHODS,
        "PRICE_WEIGHT_MIN": int(_env("PRICE_WEIGHT_MIN", "10")),  # % for services (MoF Order 87)
        "PRICE_WEIGHT_MAX": int(_env("PRICE_WEIGHT_MAX", "30")),
        "ENQUIRY_ANSWER_WORKDAYS": int(_env("ENQUIRY_ANSWER_WORKDAYS", "3")),
        "TENDER_DOCUMENT_MAX_BYTES": int(_env("TENDER_DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        "BID_ATTACHMENT_MAX_BYTES": int(_env("BID_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        "BID_ATTACHMENT_MAX_COUNT": int(_env("BID_ATTACHMENT_MAX_COUNT", "10")),
        # Bid sealing keys: "kid:base64(32 bytes)[,...]"; the current one seals.
        "SEAL_KEY_ID": _env("SEAL_KEY_ID"),
        # Server-side cache of rendered public pages (procure.caching): a Redis URL
        # in production (default: the broker's, when it is Redis); otherwise files
        # in instance/cache, shared by every web process (an in-memory cache would
        # be per process and miss the invalidation done by another one); "null"
        # turns it off.
        "CACHE_URL": _env("CACHE_URL")
        or (broker_url if broker_url.startswith(("redis://", "rediss://")) else "filesystem"),
        "CACHE_DIR": _env("CACHE_DIR") or str(instance / "cache"),
        # Seconds a rendered page stays in the server-side cache (entries are keyed
        # by the catalog publication, so publishing never serves a stale page).
        "CACHE_PAGE_TIMEOUT": int(_env("CACHE_PAGE_TIMEOUT", "3600")),
        # Officers' pages kept per user in the same cache (procure.private_pages).
        "PRIVATE_PAGE_CACHE": _bool("PRIVATE_PAGE_CACHE", True),
        # Cache-Control max-age (seconds) of anonymous public pages: lists that
        # change (home, current catalog, search, directory: 0, revalidated at every
        # view, so a publication is seen at once) and published versions.
        "HTTP_MAX_AGE_LIST": int(_env("HTTP_MAX_AGE_LIST", "0")),
        "HTTP_MAX_AGE_VERSION": int(_env("HTTP_MAX_AGE_VERSION", "600")),
        # Public catalog pages: items per page of search results and category lists.
        "CATALOG_PAGE_SIZE": int(_env("CATALOG_PAGE_SIZE", "50")),
        # Officers' and evaluators' work lists (challenges to answer, contracts
        # due, assigned evaluations): rows per page.
        "WORK_LIST_PAGE_SIZE": int(_env("WORK_LIST_PAGE_SIZE", "50")),
        # 大字版 (larger text) for visitors: a cookie kept this many seconds
        # (signed-in users keep the choice in their account instead).
        "TEXT_SIZE_COOKIE": "text_size",
        "TEXT_SIZE_COOKIE_MAX_AGE": int(_env("TEXT_SIZE_COOKIE_MAX_AGE", str(365 * 24 * 3600))),
    }
    config.update(overrides)
    if str(config["RATELIMIT_STORAGE_URI"]).startswith("redis"):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(config["ENV"], Path(config["INSTANCE_PATH"]))
    if config["ENV"] == "production":
        check_production_key(config["SECRET_KEY"])
        if config.get("EMAIL_REDIRECT_TO"):
            raise ConfigError("PROCURE_EMAIL_REDIRECT_TO is for staging copies only, never in production")
    if "SEAL_KEYS" not in config:
        config["SEAL_KEYS"] = parse_seal_keys(_seal_keys(config["ENV"], Path(config["INSTANCE_PATH"])))
    elif isinstance(config["SEAL_KEYS"], str):
        config["SEAL_KEYS"] = parse_seal_keys(config["SEAL_KEYS"])
    if not config["SEAL_KEYS"]:
        raise ConfigError("no bid sealing key (PROCURE_SEAL_KEYS)")
    if not config.get("SEAL_KEY_ID"):
        config["SEAL_KEY_ID"] = list(config["SEAL_KEYS"])[-1]  # the newest listed key seals
    if config["SEAL_KEY_ID"] not in config["SEAL_KEYS"]:
        raise ConfigError("PROCURE_SEAL_KEY_ID names no key of PROCURE_SEAL_KEYS")
    return config
