"""Notifications: create (exactly once per event and recipient), deliver by email
after the caller's commit, and keep the recipient's inbox.

The pattern (as in indico and warehouse): a domain service calls ``notify`` in
the same transaction as the change it reports; the row is the outbox entry.
Only after the transaction commits is the email handed on (to Celery, or sent
in-process), so rolled-back work never mails anyone, and a committed
notification whose hand-off was lost is picked up by the periodic
``flush_outbox`` job: emails are never lost, and ``deliver`` is idempotent.

``notify`` and ``notify_many`` store the rendered text; ``notify_users`` (bid
receipts, in the submitting request) stores rows without it when their context
survives JSON unchanged, and they are rendered when first loaded (an ORM hook
installed with the delivery hooks), to the same text.
"""
from __future__ import annotations

import functools
import json
import logging
import re
import secrets
from dataclasses import dataclass
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from procure.accounts.models import User
from procure.notifications import mail
from procure.notifications.models import EmailStatus, Notification
from procure.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

# session.info key: ids of notifications created in the current transaction.
OUTBOX_KEY = "procure.notifications.outbox"
SEND_TASK = "workers.tasks.send_email"
SEND_BATCH_TASK = "workers.tasks.send_email_batch"
DEFAULT_BATCH_SIZE = 200
MAX_ERROR_LENGTH = 2000

DeliveryOutcome = Literal["sent", "failed", "undeliverable", "skipped", "missing"]


# === creating notifications ==================================================


def notify(
    session: Session,
    *,
    event_key: str,
    template: str,
    context: Mapping[str, Any],
    recipient: User | None = None,
    email: str | None = None,
    link: str | None = None,
    locale: str | None = None,
    unsubscribe_kind: str | None = None,
) -> Notification | None:
    """Record a notification of ``event_key`` for one recipient, rendered from
    ``templates/email/<template>/`` in the recipient's language, and have it
    emailed once the caller's transaction commits.

    The recipient is a user (``recipient``) or, for people without an account
    yet, an address (``email``); with both, the email goes to ``email``.
    Returns the new notification, or ``None`` when this event was already
    notified to this address (then nothing changes and nothing is sent).
    Needs an application context (templates, config), not a request.
    Flushes, never commits.
    """
    address = _normalize_email(email if email else (recipient.email if recipient else None))
    if not event_key or len(event_key) > 200:
        raise ValueError("event_key must be 1 to 200 characters")
    if _exists(session, event_key, address):
        return None
    config = current_app.config
    locale = _choose_locale(locale, recipient, config)
    variables = {
        "recipient_name": (recipient.name if recipient else "") or "",
        "recipient_email": address,
        "base_url": config["BASE_URL"].rstrip("/"),
        "link_url": absolute_url(link, config) if link else None,
        "in_inbox": recipient is not None,  # also kept in a user's inbox on the site
        "unsubscribe_url": _unsubscribe_url(recipient.id if recipient else None, unsubscribe_kind, config),
        **context,
    }
    subject, body_text, body_html = render_email(template, variables, locale=locale)
    values = {
        "event_key": event_key,
        "recipient_user_id": recipient.id if recipient else None,
        "recipient_email": address,
        "template": template,
        "context": _jsonable(context),
        "locale": locale,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "link": link,
        "created_at": utcnow(),
        "email_status": EmailStatus.PENDING,
        "email_attempts": 0,
        "unsubscribe_kind": unsubscribe_kind,
    }
    new_id = _insert_once(session, values)
    if new_id is None:  # a concurrent transaction notified the same event first
        return None
    session.info.setdefault(OUTBOX_KEY, set()).add(new_id)
    return session.get(Notification, new_id)


@dataclass(frozen=True)
class Recipient:
    """A user to notify in bulk (``notify_many``): plain values, no ORM object."""

    user_id: int
    email: str
    name: str = ""
    locale: str | None = None


def notify_many(
    session: Session,
    *,
    event_key: str,
    template: str,
    context: Mapping[str, Any],
    recipients: Iterable[Recipient],
    link: str | None = None,
    unsubscribe_kind: str | None = None,
) -> list[int]:
    """``notify`` for many users at once (planner fan-out): skips the ones
    already notified of ``event_key`` (one query), renders the others in their
    language, and inserts them in one ``INSERT … ON CONFLICT DO NOTHING``.
    Returns the new ids (emailed after the caller's commit). Flushes, never
    commits: the caller commits each batch (a short transaction each)."""
    config = current_app.config
    recipients = list({_normalize_email(r.email): r for r in recipients}.items())
    if not recipients:
        return []
    existing = set(
        session.scalars(
            select(Notification.recipient_email).where(
                Notification.event_key == event_key,
                Notification.recipient_email.in_([address for address, _ in recipients]),
            )
        )
    )
    stored_context = _jsonable(context)
    base_url = config["BASE_URL"].rstrip("/")
    rows = []
    now = utcnow()
    by_locale: dict[str, list[tuple[str, Recipient]]] = {}
    for address, recipient in recipients:
        if address not in existing:
            by_locale.setdefault(_choose_locale(recipient.locale, None, config), []).append((address, recipient))
    for locale, group in by_locale.items():
        with force_locale(locale):  # once per language, not per recipient
            rows += _render_rows(group, locale, event_key=event_key, template=template, context=context,
                                 stored_context=stored_context, base_url=base_url, link=link,
                                 unsubscribe_kind=unsubscribe_kind, now=now, config=config)
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .on_conflict_do_nothing(index_elements=["event_key", "recipient_email"])
        .returning(Notification.id)
    )
    new_ids = list(session.scalars(statement, rows))
    session.info.setdefault(OUTBOX_KEY, set()).update(new_ids)
    return new_ids


def notify_users(
    session: Session,
    *,
    template: str,
    context: Mapping[str, Any],
    recipients: Iterable[tuple[str, Recipient]],
    link: str | None = None,
) -> list[int]:
    """``notify`` for several users at once, each under its own event key
    (``(event_key, Recipient)`` pairs), in ONE statement: ``INSERT … ON
    CONFLICT (event_key, recipient_email) DO NOTHING RETURNING id``, so an
    event already notified to an address is skipped (exactly once, as with
    ``notify``, also under concurrent requests) and nothing is read back.
    Returns the new ids; they are emailed after the caller's commit.

    Nothing is rendered here when the context survives its stored JSON copy
    unchanged (``json_stable``: plain str, int, float, bool, None, and lists
    and dicts of them): the row keeps an empty subject and bodies, and is
    rendered from its stored template, context (with the recipient's name)
    and language when it is first read (``render_stored``): by the sender,
    which stores the text before it sends it, or by the inbox. The text is
    the one ``notify`` would have stored. Any other context, and the emails
    that carry a one-time link (``delivery.CREDENTIAL_TEMPLATES``), are
    rendered now. Needs an application context. Never commits."""
    from procure.notifications.delivery import CREDENTIAL_TEMPLATES

    config = current_app.config
    pairs = [(key, r, _normalize_email(r.email)) for key, r in recipients]
    for key, _, _ in pairs:
        if not key or len(key) > 200:
            raise ValueError("event_key must be 1 to 200 characters")
    if not pairs:
        return []
    later = template not in CREDENTIAL_TEMPLATES and json_stable(context)
    stored_context = _jsonable(context)
    now = utcnow()
    rows = []
    for event_key, recipient, address in pairs:
        locale = _choose_locale(recipient.locale, None, config)
        row = {
            "event_key": event_key, "recipient_user_id": recipient.user_id, "recipient_email": address,
            "template": template, "locale": locale, "link": link, "created_at": now, "read_at": None,
            "email_status": EmailStatus.PENDING, "email_attempts": 0, "unsubscribe_kind": None,
        }
        if later:
            # The one value of the email that is neither in a column nor in the configuration.
            row.update(context={"recipient_name": recipient.name or "", **stored_context},
                       subject="", body_text="", body_html="")
        else:
            variables = {"recipient_name": recipient.name or "", "recipient_email": address,
                         "base_url": config["BASE_URL"].rstrip("/"),
                         "link_url": absolute_url(link, config) if link else None, "in_inbox": True,
                         "unsubscribe_url": None, **context}
            subject, body_text, body_html = render_email(template, variables, locale=locale)
            row.update(context=stored_context, subject=subject, body_text=body_text, body_html=body_html)
        rows.append(row)
    new_ids = list(session.scalars(_insert_new(session.get_bind().dialect.name), rows))
    session.info.setdefault(OUTBOX_KEY, set()).update(new_ids)
    return new_ids


@functools.cache
def _insert_new(dialect: str):
    """``INSERT … ON CONFLICT (event_key, recipient_email) DO NOTHING RETURNING id``
    of the table (not the ORM's bulk insert: half the Python), built once per dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Notification.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["event_key", "recipient_email"]).returning(table.c.id)


def json_stable(value: Any) -> bool:
    """Whether ``value`` comes back from JSON exactly as it is (same types,
    not only equal): str, int, float, bool and None, in lists and in dicts
    with str keys. A Decimal, a date, a tuple, a lazy translation or a
    ``Markup`` (a str that is not escaped in HTML) does not."""
    kind = type(value)
    if kind in (str, bool, int) or value is None:
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list:
        return all(json_stable(v) for v in value)
    if kind is dict:
        return all(type(k) is str and json_stable(v) for k, v in value.items())
    return False


def is_unrendered(notification: Notification) -> bool:
    """A row stored without its text (``notify_users``): empty subject and
    bodies. (A sent email with a one-time link keeps its subject.)"""
    d = notification.__dict__
    return d.get("subject") == "" and d.get("body_text") == "" and d.get("body_html") == ""


def render_stored(notification: Notification, config: Mapping[str, Any] | None = None) -> tuple[str, str, str]:
    """Subject, text and HTML of a stored notification, rendered from its
    template, stored context, language and columns with the same variables
    ``notify`` renders with (needs an application context)."""
    config = config if config is not None else current_app.config
    n = notification
    variables = {
        "recipient_name": "",
        "recipient_email": n.recipient_email,
        "base_url": config["BASE_URL"].rstrip("/"),
        "link_url": absolute_url(n.link, config) if n.link else None,
        "in_inbox": n.recipient_user_id is not None,
        "unsubscribe_url": _unsubscribe_url(n.recipient_user_id, n.unsubscribe_kind, config),
        **(n.context or {}),
    }
    return render_email(n.template, variables, locale=n.locale)


# Attributes ``render_stored`` reads: a row loaded without one of them is left alone.
_RENDER_INPUTS = ("subject", "body_text", "body_html", "template", "context", "locale", "recipient_email", "link",
                  "recipient_user_id", "unsubscribe_kind")
RENDERED_LATE = "_procure_rendered_late"


def _render_on_load(target: Notification, *_args) -> None:
    """ORM ``load``/``refresh`` of a notification stored without its text:
    the text is rendered into the loaded object (not marked changed, so no
    flush writes it; the sender stores it, ``delivery._claim``). Every reader
    (inbox, sender, admin pages, tests) thus sees the text. Outside an
    application context, or when rendering fails (logged), the row stays
    empty; the sender then fails it rather than send an empty email."""
    from procure.notifications.delivery import CREDENTIAL_TEMPLATES

    d = target.__dict__
    if not all(k in d for k in _RENDER_INPUTS) or not is_unrendered(target) or not has_app_context():
        return
    if d["template"] in CREDENTIAL_TEMPLATES:
        return
    try:
        subject, body_text, body_html = render_stored(target)
    except Exception:
        log.exception("notification %s: could not render template %r", d.get("id"), d["template"])
        return
    set_committed_value(target, "subject", subject)
    set_committed_value(target, "body_text", body_text)
    set_committed_value(target, "body_html", body_html)
    setattr(target, RENDERED_LATE, True)


# The values that differ between the recipients of one ``notify_many`` call.
PER_RECIPIENT = ("recipient_name", "recipient_email", "unsubscribe_url")


def _render_rows(group, locale, *, event_key, template, context, stored_context, base_url, link, unsubscribe_kind,
                 now, config) -> list[dict[str, Any]]:
    """The rows of one language group. The recipients of a fan-out get the
    same email except for their name, address and unsubscribe link, so the
    template is rendered ONCE per group (per "shape": which of those values
    are empty, for ``{% if recipient_name %}``) with placeholders, and each
    recipient's values are put in (escaped in HTML, raw in text). The first
    recipient of each shape is also rendered in full and compared: a template
    that transforms a per-recipient value (a filter, a test on its content)
    makes them differ, and that shape is then rendered per recipient."""
    link_url = absolute_url(link, config) if link else None
    per_recipient = [k for k in PER_RECIPIENT if k not in context]
    stencils: dict[tuple[bool, ...], _Stencil | None] = {}
    rows = []
    for address, recipient in group:
        own = {"recipient_name": recipient.name or "", "recipient_email": address,
               "unsubscribe_url": _unsubscribe_url(recipient.user_id, unsubscribe_kind, config)}
        variables = {"base_url": base_url, "link_url": link_url, "in_inbox": True, **own, **context}
        shape = tuple(bool(own[k]) for k in per_recipient)
        if not all(_tidy(own[k]) for k in per_recipient):
            rendered = _render_in_current_locale(template, variables)
        elif shape not in stencils:
            stencil = _Stencil(template, variables, [k for k, filled in zip(per_recipient, shape) if filled])
            full = _render_in_current_locale(template, variables)
            stencils[shape] = stencil if stencil.fill(own) == full else None
            rendered = full
        elif stencils[shape] is None:
            rendered = _render_in_current_locale(template, variables)
        else:
            rendered = stencils[shape].fill(own)
        subject, body_text, body_html = rendered
        rows.append({
            "event_key": event_key, "recipient_user_id": recipient.user_id, "recipient_email": address,
            "template": template, "context": stored_context, "locale": locale, "subject": subject,
            "body_text": body_text, "body_html": body_html, "link": link, "created_at": now,
            "read_at": None, "email_status": EmailStatus.PENDING, "email_attempts": 0,
            "unsubscribe_kind": unsubscribe_kind,
        })
    return rows


def _tidy(value: str | None) -> bool:
    """No whitespace a finishing step would tidy differently in place."""
    return not value or (value == " ".join(value.split()) and "\x00" not in value)


class _Stencil:
    """One render of an email with a placeholder for each per-recipient value
    (``keys``); ``fill`` puts a recipient's values in and applies the same
    finishing as ``_render_in_current_locale`` (which therefore returns the
    unfinished parts when asked: ``finish=False``). A placeholder a template
    altered (cut, changed case) is never left in an email: ``fill`` then
    returns None, which never equals a full render; so does a subject that
    holds a per-recipient value (the bodies get the subject tidied)."""

    def __init__(self, template: str, variables: Mapping[str, Any], keys: list[str]) -> None:
        nonce = secrets.token_hex(6)
        self.marks = {key: f"\x00{nonce}{i}\x00" for i, key in enumerate(keys)}
        self.subject, self.body_text, self.body_html = _render_in_current_locale(
            template, {**variables, **self.marks}, finish=False)
        pattern = re.compile("|".join(re.escape(m) for m in self.marks.values())) if keys else None
        self.pattern = pattern
        self.key_of = {m: k for k, m in self.marks.items()}

    def fill(self, values: Mapping[str, Any]) -> tuple[str, str, str] | None:
        if self.pattern is None:
            parts = (self.subject, self.body_text, self.body_html)
        else:
            raw = {m: str(values[k]) for m, k in self.key_of.items()}
            escaped = {m: str(escape(v)) for m, v in raw.items()}
            parts = (self.pattern.sub(lambda m: raw[m.group()], self.subject),
                     self.pattern.sub(lambda m: raw[m.group()], self.body_text),
                     self.pattern.sub(lambda m: escaped[m.group()], self.body_html))
        if any("\x00" in part for part in parts) or "\x00" in self.subject:
            return None
        return _finish_subject(parts[0]), _finish_text(parts[1]), parts[2]


def _unsubscribe_url(user_id: int | None, kind: str | None, config: Mapping[str, Any]) -> str | None:
    if not kind or user_id is None:
        return None
    from procure.alerts import preferences

    return absolute_url("/unsubscribe/" + preferences.unsubscribe_token(user_id, kind, config), config)


def render_email(template: str, variables: Mapping[str, Any], *, locale: str) -> tuple[str, str, str]:
    """Subject (one line), plain text and HTML of ``templates/email/<template>/``.

    The ``.txt`` templates are plain text (not autoescaped: no HTML entities in
    the text part); the ``.html`` one is autoescaped and never includes a
    ``.txt`` template, whose output would go in raw. Text shared by both parts
    is rendered once as plain text and handed to both as a variable (escaped
    in HTML like any other value): ``subject`` and, when the folder has a
    ``_message.txt``, ``message_text``."""
    with force_locale(locale):
        return _render_in_current_locale(template, variables)


def _render_in_current_locale(template: str, variables: Mapping[str, Any], *,
                              finish: bool = True) -> tuple[str, str, str]:
    """``render_email`` inside a ``force_locale`` block the caller holds (the
    planner renders many emails of one language in one block). With
    ``finish=False`` the subject and text come back before their whitespace
    is tidied (``_finish_subject``, ``_finish_text``): a stencil's
    placeholders are filled first."""
    folder = f"email/{template}"
    variables = dict(variables)
    raw_subject = render_template(f"{folder}/subject.txt", **variables)
    variables["subject"] = _finish_subject(raw_subject)
    if _has_template(f"{folder}/_message.txt"):
        variables["message_text"] = render_template(f"{folder}/_message.txt", **variables).strip()
    body_text = render_template(f"{folder}/body.txt", **variables)
    body_html = render_template(f"{folder}/body.html", **variables)
    if not finish:
        return raw_subject, body_text, body_html
    return variables["subject"], _finish_text(body_text), body_html


def _finish_subject(subject: str) -> str:
    return " ".join(subject.split())[:300]


def _finish_text(body_text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", body_text.strip()) + "\n"


def _has_template(name: str) -> bool:
    from jinja2 import TemplateNotFound

    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def absolute_url(link: str, config: Mapping[str, Any]) -> str:
    if link.startswith(("http://", "https://")):
        return link
    return config["BASE_URL"].rstrip("/") + "/" + link.lstrip("/")


def _normalize_email(address: str | None) -> str:
    address = (address or "").strip().lower()
    if "@" not in address or len(address) > 254:
        raise ValueError(f"a notification needs a recipient email address, got {address!r}")
    return address


def choose_locale(locale: str | None, config: Mapping[str, Any]) -> str:
    """``locale`` if the platform speaks it, else the default language."""
    return _choose_locale(locale, None, config)


def _choose_locale(locale: str | None, recipient: User | None, config: Mapping[str, Any]) -> str:
    languages = config["LANGUAGES"]
    for candidate in (locale, recipient.locale if recipient else None):
        if candidate in languages:
            return candidate
    return config["BABEL_DEFAULT_LOCALE"]


def _jsonable(context: Mapping[str, Any]) -> dict[str, Any]:
    """The stored copy of the context: JSON, with dates, decimals and the like as text."""
    return json.loads(json.dumps(dict(context), default=str, ensure_ascii=False))


def _exists(session: Session, event_key: str, address: str) -> bool:
    query = select(Notification.id).where(
        Notification.event_key == event_key, Notification.recipient_email == address
    )
    return session.scalar(query) is not None


def _insert_once(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT (event_key, recipient_email) DO NOTHING RETURNING id.

    One atomic statement: under a race the second transaction waits for the
    first and then inserts nothing; the caller's transaction is never aborted.
    (A SAVEPOINT around a plain INSERT is not safe here: pysqlite does not open
    the outer transaction before a SAVEPOINT, so RELEASE would commit the row
    on its own and a later rollback of the caller would not remove it.)
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - the platform runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"notify() does not support {dialect}")
    statement = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["event_key", "recipient_email"])
        .returning(Notification.id)
    )
    return session.execute(statement).scalar()


# === delivery ===============================================================


def deliver(session: Session, notification_id: int, *, config: Mapping[str, Any] | None = None) -> DeliveryOutcome:
    """Send one notification's email unless it was already sent
    (``delivery.deliver_batch``: claim → send → mark, each committed on its
    own session, so ``session`` is only used for its engine). Returns
    ``sent``, ``failed``, ``undeliverable``, ``skipped`` (sent already, or
    another sender holds a live claim) or ``missing``.

    Delivery is at least once, not at most once: a process that dies after
    the SMTP server accepted the message but before the ``sent`` mark is
    committed leaves a claim that is recovered, and the message is sent again
    with the same Message-ID (the window is documented in delivery.py)."""
    from procure.notifications import delivery

    return delivery.deliver_batch([notification_id], config=config, engine=session.get_bind())[notification_id]


def attempt_cap(config: Mapping[str, Any] | None = None) -> int:
    """How many attempts an email gets (EMAIL_MAX_ATTEMPTS)."""
    config = config if config is not None else current_app.config
    return int(config["EMAIL_MAX_ATTEMPTS"])


def retry_delay(attempts: int) -> timedelta:
    """How long the outbox sweep waits after a failed attempt: 2, 4, 8 … minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts, 1), 60))


def due_for_delivery(
    session: Session,
    *,
    pending_after: timedelta | None = None,
    max_attempts: int | None = None,
    limit: int = 500,
    config: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Ids of emails the outbox sweep should hand on again: pending ones whose
    hand-off is older than ``pending_after`` (EMAIL_PENDING_GRACE; a lost
    enqueue), stale claims (their process is gone, or older than
    EMAIL_CLAIM_TIMEOUT: a crashed sender), and failed ones under the attempt
    cap whose back-off delay has passed."""
    from procure.notifications import delivery, queries

    config = config if config is not None else current_app.config
    if pending_after is None:
        pending_after = timedelta(seconds=int(config.get("EMAIL_PENDING_GRACE") or 30))
    cap = max_attempts if max_attempts is not None else attempt_cap(config)
    now = now or utcnow()
    ids = queries.stale_pending_ids(session, before=now - pending_after, limit=limit)
    ids += queries.stale_claim_ids(session, before=now - delivery.claim_timeout(config), limit=limit)
    ids += delivery.dead_claims(session)
    for notification_id, attempts, last_attempt in queries.failed_under_cap(session, cap, limit=limit):
        if last_attempt is None or as_utc(last_attempt) <= now - retry_delay(attempts):
            ids.append(notification_id)
    return list(dict.fromkeys(ids))[:limit]


def batches(ids: Iterable[int], size: int | None = None) -> list[list[int]]:
    size = size or int(current_app.config.get("EMAIL_BATCH_SIZE") or DEFAULT_BATCH_SIZE)
    ids = sorted(set(ids))
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def dispatch(ids: Iterable[int]) -> None:
    """Hand committed notifications on for email, per ``EMAIL_DELIVERY``:
    ``celery`` enqueues ``workers.tasks.send_email``; ``inline`` sends now, in
    this process. Never raises: whatever is not handed on stays pending and
    the outbox sweep retries it."""
    ids = sorted(set(ids))
    if not ids:
        return
    if not has_app_context():
        log.error("notifications %s committed outside an app context; left to the outbox sweep", ids)
        return
    app = current_app._get_current_object()
    mode = app.config.get("EMAIL_DELIVERY", "celery")
    if mode == "inline":
        from procure.extensions import db

        from procure.notifications import delivery

        try:
            delivery.deliver_batch(ids, config=app.config, engine=db.engine)
        except Exception:
            log.exception("inline delivery of notifications %s failed; left to the outbox sweep", ids)
    elif mode == "celery":
        from procure import queue

        for batch in batches(ids):
            try:
                if len(batch) == 1:
                    queue.enqueue(SEND_TASK, batch[0])
                else:
                    queue.enqueue(SEND_BATCH_TASK, batch)
            except Exception:
                log.exception("could not enqueue notifications %s; left to the outbox sweep", batch)
    else:
        log.error("unknown EMAIL_DELIVERY %r: notifications %s left pending", mode, ids)


def _after_commit(session: Session) -> None:
    # SQLAlchemy also fires after_commit when a SAVEPOINT is released
    # (``begin_nested``): the rows are not committed yet, so another
    # connection (the sender) would not see them. Wait for the real commit.
    if session.in_nested_transaction():
        return
    ids = session.info.pop(OUTBOX_KEY, None)
    if ids:
        dispatch(ids)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit (rollback, close):
    # its notifications no longer exist, nothing is sent.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(OUTBOX_KEY, None)


def install_delivery_hooks() -> None:
    """Deliver after commit, for every SQLAlchemy session; render the rows
    stored without their text when they are loaded. Idempotent."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
    if not event.contains(Notification, "load", _render_on_load):
        event.listen(Notification, "load", _render_on_load)
        event.listen(Notification, "refresh", _render_on_load)


def retry(session: Session, notification_id: int) -> bool:
    """An admin sends again an email that failed for good (or was refused):
    back to pending with a fresh attempt count, the address's undeliverable
    mark lifted; handed on after the caller's commit. False if there is no
    such email or it is not failed/undeliverable. Flushes."""
    from procure.notifications.models import UndeliverableAddress

    notification = session.get(Notification, notification_id)
    if notification is None or notification.email_status not in (EmailStatus.FAILED, EmailStatus.UNDELIVERABLE):
        return False
    if notification.email_status == EmailStatus.UNDELIVERABLE:
        session.execute(
            UndeliverableAddress.__table__.delete().where(UndeliverableAddress.email == notification.recipient_email)
        )
    notification.email_status = EmailStatus.PENDING
    notification.email_attempts = 0
    notification.email_claimed_at = None
    notification.email_claimed_by = None
    session.flush()
    session.info.setdefault(OUTBOX_KEY, set()).add(notification.id)
    return True


# === the inbox ==============================================================


def mark_read(session: Session, notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.recipient_user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0
