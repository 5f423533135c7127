"""Email transport: one notification → one MIME message → SMTP (or the mail sink).

No database and no Flask globals here: functions take the notification and
the config mapping, so the web process and the worker use them the same way.

``Mailer`` keeps ONE SMTP connection per process (``mailer(config)``) and
reuses it for every message of a batch and for the next batches, reconnecting
only when the server closed it. A worker process therefore opens one
connection, not one per email.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procure.timeutil import as_utc

if TYPE_CHECKING:
    from procure.notifications.models import Notification

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30  # seconds, per SMTP operation
# A connection idle longer than this is checked with NOOP before it is used
# (servers close idle connections; a send on a dead one would fail).
IDLE_CHECK_SECONDS = 5.0


class PermanentRefusal(Exception):
    """The SMTP server refused the recipient or the message with a 5xx code:
    sending it again will not help."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def sender_domain(config: Mapping[str, Any]) -> str:
    _, address = parseaddr(config.get("MAIL_FROM") or "")
    domain = address.rpartition("@")[2]
    return domain or "procure.local"


def message_id(notification: Notification, config: Mapping[str, Any]) -> str:
    """Stable per notification: a retry of the same notification carries the same
    Message-ID, so a receiving system (and a person) can tell it is the same mail."""
    return f"<notification-{notification.id}@{sender_domain(config)}>"


def from_address(config: Mapping[str, Any]) -> Address:
    """``MAIL_FROM`` with the display name ``MAIL_FROM_NAME`` (when set)."""
    name, address = parseaddr(config.get("MAIL_FROM") or "noreply@procure.local")
    display = config.get("MAIL_FROM_NAME") or name
    return Address(display_name=display or "", addr_spec=address or "noreply@procure.local")


def redirect_address(config: Mapping[str, Any]) -> str | None:
    """Outside production, EMAIL_REDIRECT_TO sends every email to one address
    (a staging copy of real data never mails real organizations)."""
    if config.get("ENV") == "production":
        return None
    return (config.get("EMAIL_REDIRECT_TO") or "").strip() or None


def envelope_recipient(notification: Notification, config: Mapping[str, Any]) -> str:
    return redirect_address(config) or notification.recipient_email


def build_message(
    notification: Notification, config: Mapping[str, Any], *, unsubscribe_url: str | None = None
) -> EmailMessage:
    msg = EmailMessage()  # policy=email.policy.default: RFC 2047 headers, UTF-8 bodies
    msg["Subject"] = notification.subject
    msg["From"] = from_address(config)
    redirect = redirect_address(config)
    msg["To"] = Address(addr_spec=redirect or notification.recipient_email)
    if redirect:
        msg["X-Procure-Original-To"] = notification.recipient_email
    msg["Date"] = format_datetime(as_utc(notification.created_at))
    msg["Message-ID"] = message_id(notification, config)
    # RFC 3834: an automatic message; auto-responders should not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 2369 + RFC 8058: one-click unsubscribe by a POST to this URL.
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(notification.body_text, charset="utf-8")
    msg.add_alternative(notification.body_html, subtype="html", charset="utf-8")
    # After the bodies: set_content() clears every Content-* header.
    msg["Content-Language"] = "zh-CN" if notification.locale.startswith("zh") else notification.locale
    return msg


class Mailer:
    """One SMTP connection, opened on first use and reused."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = config.get("SMTP_HOST")
        self.port = int(config.get("SMTP_PORT") or 25)
        self.timeout = config.get("SMTP_TIMEOUT") or DEFAULT_TIMEOUT
        self.starttls = bool(config.get("SMTP_STARTTLS"))
        self.user = config.get("SMTP_USER")
        self.password = config.get("SMTP_PASSWORD") or ""
        self.smtp: smtplib.SMTP | None = None
        self.last_used = 0.0
        self.connections_opened = 0

    def key(self) -> tuple:
        return (self.host, self.port, self.starttls, self.user, self.password)

    def _open(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            _quietly_close(smtp)
            raise
        self.connections_opened += 1
        return smtp

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is not None and time.monotonic() - self.last_used > IDLE_CHECK_SECONDS:
            try:
                if self.smtp.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP refused")
            except (smtplib.SMTPException, OSError):
                self.close()
        if self.smtp is None:
            self.smtp = self._open()
        return self.smtp

    def send(self, msg: EmailMessage, recipient: str) -> None:
        """Send ``msg`` to ``recipient``. Raises ``PermanentRefusal`` for a 5xx
        refusal of the recipient or the message, ``smtplib.SMTPException`` /
        ``OSError`` for anything that may work later. After any error the
        connection is dropped (its state is unknown); the next send reconnects."""
        smtp = self._connection()
        try:
            smtp.send_message(msg, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset_after_refusal()
            code, text = next(iter(exc.recipients.values()))
            if 500 <= code < 600:
                raise PermanentRefusal(code, _text(text)) from exc
            raise
        except smtplib.SMTPDataError as exc:
            self._reset_after_refusal()
            if 500 <= exc.smtp_code < 600:
                raise PermanentRefusal(exc.smtp_code, _text(exc.smtp_error)) from exc
            raise
        except smtplib.SMTPResponseException:
            self._reset_after_refusal()
            raise
        except BaseException:
            self.close()
            raise
        self.last_used = time.monotonic()

    def _reset_after_refusal(self) -> None:
        # The server answered: the connection is alive; RSET clears the
        # transaction (smtplib already does for refused recipients).
        try:
            self.smtp.rset()
            self.last_used = time.monotonic()
        except (smtplib.SMTPException, OSError, AttributeError):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            _quietly_close(self.smtp)
            self.smtp = None


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        try:
            smtp.close()
        except OSError:
            pass


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_mailers: dict[tuple, Mailer] = {}
_mailers_pid = os.getpid()
_mailers_guard = threading.Lock()


def mailer(config: Mapping[str, Any]) -> Mailer:
    """The process's reused connection for this SMTP configuration. A forked
    child never reuses its parent's socket (it gets its own)."""
    global _mailers_pid
    candidate = Mailer(config)
    with _mailers_guard:
        if _mailers_pid != os.getpid():
            _mailers.clear()
            _mailers_pid = os.getpid()
        return _mailers.setdefault(candidate.key(), candidate)


def close_mailers() -> None:
    with _mailers_guard:
        for m in _mailers.values():
            m.close()
        _mailers.clear()


def send(notification: Notification, config: Mapping[str, Any], *, unsubscribe_url: str | None = None,
         connection: Mailer | None = None) -> None:
    """Hand the notification's email to the SMTP server (over the process's
    reused connection), or to the mail sink (``instance/mail/*.eml``) when no
    SMTP server is configured. Raises ``PermanentRefusal`` for a 5xx refusal,
    ``smtplib.SMTPException`` / ``OSError`` when the server cannot take it now."""
    msg = build_message(notification, config, unsubscribe_url=unsubscribe_url)
    if not config.get("SMTP_HOST"):
        _write_to_sink(notification, msg, config)
        return
    (connection or mailer(config)).send(msg, envelope_recipient(notification, config))
    log.debug("email sent: notification %s to %s", notification.id, notification.recipient_email)


def sink_dir(config: Mapping[str, Any]) -> Path:
    return Path(config["INSTANCE_PATH"]) / "mail"


def _write_to_sink(notification: Notification, msg: EmailMessage, config: Mapping[str, Any]) -> None:
    directory = sink_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"notification-{notification.id}.eml"
    tmp = directory / f".notification-{notification.id}.{os.getpid()}.tmp"
    tmp.write_bytes(msg.as_bytes())
    os.replace(tmp, path)  # readers never see a half-written file
    log.info(
        "no SMTP server configured (PROCURE_SMTP_HOST): email to %s «%s» written to %s",
        notification.recipient_email,
        notification.subject,
        path,
    )


def process_identity() -> str:
    """``host:pid`` of this process, recorded on the claims it takes."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def process_alive(identity: str | None) -> bool | None:
    """Whether the claiming process still runs: True/False when it ran on this
    host, None when that cannot be told from here (another host)."""
    if not identity or ":" not in identity:
        return None
    host, _, pid = identity.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
