"""Email transport: one notification → one MIME message → SMTP (or the mail sink).

No database and no Flask globals here: functions take the notification and
the config mapping, so the web process and the worker use them the same way.

``Mailer`` keeps ONE SMTP connection per process (``mailer(config)``) and
reuses it for every message of a batch and for the next batches, reconnecting
only when the server closed it. A worker process therefore opens one
connection, not one per email.
"""
from __future__ import annotations

import base64
import email
import email.policy
import functools
import logging
import os
import re
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
    """The email of ``notification`` as an ``EmailMessage`` (parsed from
    ``message_bytes``, the definition of what is sent)."""
    data = message_bytes(notification, config, unsubscribe_url=unsubscribe_url)
    if data is None:
        return classic_message(notification, config, unsubscribe_url=unsubscribe_url)
    return email.message_from_bytes(data, policy=email.policy.default)


def classic_message(
    notification: Notification, config: Mapping[str, Any], *, unsubscribe_url: str | None = None
) -> EmailMessage:
    """The same email built with ``EmailMessage`` (slow: over a millisecond per
    message). Used for addresses that are not plain ASCII (SMTPUTF8), and as
    the reference the tests compare ``message_bytes`` with."""
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
    msg["Content-Language"] = _language(notification)
    return msg


def _language(notification: Notification) -> str:
    return "zh-CN" if notification.locale.startswith("zh") else notification.locale


# Characters of an address that needs no quoting or encoding in a header.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,190}")
# A URL that can stand in a header as it is (printable ASCII, no brackets, not too long).
_PLAIN_URL = re.compile(r"[!-;=?-~]{1,900}")


@functools.lru_cache(maxsize=256)
def _header(name: str, value: str) -> bytes:
    """One header line, encoded (RFC 2047) and folded by the email package's
    SMTP policy. Cached: the subject, sender and date of a batch are the same
    for thousands of messages."""
    policy = email.policy.SMTP
    return policy.header_factory(name, value).fold(policy=policy).encode("ascii")


def _text_part(content: str, subtype: str) -> bytes:
    """A text part: 7bit when it is short-lined ASCII, else base64 of its
    UTF-8 (76-character lines); lines split as the email package does (on
    CR/LF only), CRLF line ends."""
    lines = content.encode("utf-8").splitlines()
    head = f"Content-Type: text/{subtype}; charset=\"utf-8\"\r\nContent-Transfer-Encoding: ".encode("ascii")
    if content.isascii() and all(len(line) <= 78 for line in lines):
        return head + b"7bit\r\n\r\n" + b"".join(line + b"\r\n" for line in lines)
    encoded = base64.encodebytes(b"".join(line + b"\n" for line in lines)).replace(b"\n", b"\r\n")
    return head + b"base64\r\n\r\n" + encoded


def message_bytes(
    notification: Notification, config: Mapping[str, Any], *, unsubscribe_url: str | None = None
) -> bytes | None:
    """The MIME message (CRLF line ends, ready for SMTP ``DATA``), or None
    when an address is not plain ASCII (``classic_message`` then). Headers
    are encoded by the email package's SMTP policy (RFC 2047 subject and
    sender name; cached, as the subject, sender and date of a batch repeat),
    the bodies are a multipart/alternative of the UTF-8 text and HTML, the
    boundary is deterministic (a retry is the same bytes). Built directly
    instead of through ``EmailMessage`` (over a millisecond per message at
    fan-out volume); ``tests/notifications/test_delivery.py`` checks it
    against ``classic_message``."""
    redirect = redirect_address(config)
    to = redirect or notification.recipient_email
    if not _PLAIN_ADDRESS.fullmatch(to) or not _PLAIN_ADDRESS.fullmatch(notification.recipient_email):
        return None
    parts = [
        _header("Subject", notification.subject),
        _header("From", str(from_address(config))),
        f"To: {to}\r\n".encode("ascii"),
    ]
    if redirect:
        parts.append(f"X-Procure-Original-To: {notification.recipient_email}\r\n".encode("ascii"))
    parts.append(_header("Date", format_datetime(as_utc(notification.created_at))))
    parts.append(f"Message-ID: {message_id(notification, config)}\r\n".encode("ascii"))
    # RFC 3834: an automatic message; auto-responders should not answer it.
    parts.append(b"Auto-Submitted: auto-generated\r\n")
    if unsubscribe_url:
        # RFC 2369 + RFC 8058: one-click unsubscribe by a POST to this URL.
        # The URL is written as it is: an encoded word is not allowed inside
        # the angle brackets, and a header line may have 998 characters.
        if _PLAIN_URL.fullmatch(unsubscribe_url):
            parts.append(f"List-Unsubscribe: <{unsubscribe_url}>\r\n".encode("ascii"))
        else:
            parts.append(_header("List-Unsubscribe", f"<{unsubscribe_url}>"))
        parts.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    parts.append(_header("Content-Language", _language(notification)))
    text_part = _text_part(notification.body_text, "plain")
    html_part = _text_part(notification.body_html, "html")
    # Base64 has no "_" and the id makes it unique; a 7bit body that quotes
    # it (never seen) gets a longer one.
    boundary = f"=_procure-{notification.id}-alternative".encode("ascii")
    while b"--" + boundary in text_part or b"--" + boundary in html_part:
        boundary += b"_"
    parts += [b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"", boundary, b"\"\r\n\r\n",
              b"--", boundary, b"\r\n", text_part, b"\r\n--", boundary, b"\r\n", html_part,
              b"\r\n--", boundary, b"--\r\n"]
    return b"".join(parts)


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

    def send(self, msg: EmailMessage | bytes, recipient: str, sender: str | None = None) -> None:
        """Send ``msg`` (an ``EmailMessage``, or the bytes of ``message_bytes``
        with the envelope ``sender``) to ``recipient``. Raises ``PermanentRefusal`` for a 5xx
        refusal of the recipient or the message, ``smtplib.SMTPException`` /
        ``OSError`` for anything that may work later. After any error the
        connection is dropped (its state is unknown); the next send reconnects."""
        smtp = self._connection()
        try:
            if isinstance(msg, bytes):
                smtp.sendmail(sender, [recipient], msg)
            else:
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
    msg: EmailMessage | bytes | None = message_bytes(notification, config, unsubscribe_url=unsubscribe_url)
    if msg is None:
        msg = classic_message(notification, config, unsubscribe_url=unsubscribe_url)
    if not config.get("SMTP_HOST"):
        _write_to_sink(notification, msg if isinstance(msg, bytes) else msg.as_bytes(), config)
        return
    (connection or mailer(config)).send(msg, envelope_recipient(notification, config),
                                        sender=from_address(config).addr_spec)
    log.debug("email sent: notification %s to %s", notification.id, notification.recipient_email)


def sink_dir(config: Mapping[str, Any]) -> Path:
    return Path(config["INSTANCE_PATH"]) / "mail"


def _write_to_sink(notification: Notification, data: bytes, config: Mapping[str, Any]) -> None:
    directory = sink_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"notification-{notification.id}.eml"
    tmp = directory / f".notification-{notification.id}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
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
