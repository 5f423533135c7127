"""Email transport: one notification → one MIME message → SMTP (or the mail sink).

No database and no Flask globals here: ``send`` takes the notification and the
config mapping, so the web process and the worker use it the same way.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
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


def sender_domain(config: Mapping[str, Any]) -> str:
    _, address = parseaddr(config.get("MAIL_FROM") or "")
    domain = address.rpartition("@")[2]
    return domain or "procure.local"


def message_id(notification: Notification, config: Mapping[str, Any]) -> str:
    """Stable per notification: a retry of the same notification carries the same
    Message-ID, so a receiving system (and a person) can tell it is the same mail."""
    return f"<notification-{notification.id}@{sender_domain(config)}>"


def build_message(notification: Notification, config: Mapping[str, Any]) -> EmailMessage:
    msg = EmailMessage()  # policy=email.policy.default: RFC 2047 headers, UTF-8 bodies
    msg["Subject"] = notification.subject
    msg["From"] = config.get("MAIL_FROM") or "procure <noreply@procure.local>"
    msg["To"] = Address(addr_spec=notification.recipient_email)
    msg["Date"] = format_datetime(as_utc(notification.created_at))
    msg["Message-ID"] = message_id(notification, config)
    # RFC 3834: an automatic message; auto-responders should not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(notification.body_text, charset="utf-8")
    msg.add_alternative(notification.body_html, subtype="html", charset="utf-8")
    # After the bodies: set_content() clears every Content-* header.
    msg["Content-Language"] = "zh-CN" if notification.locale.startswith("zh") else notification.locale
    return msg


def send(notification: Notification, config: Mapping[str, Any]) -> None:
    """Hand the notification's email to the SMTP server, or to the mail sink
    (``instance/mail/*.eml``) when no SMTP server is configured. Raises
    ``smtplib.SMTPException`` / ``OSError`` when the server cannot take it."""
    msg = build_message(notification, config)
    host = config.get("SMTP_HOST")
    if not host:
        _write_to_sink(notification, msg, config)
        return
    port = int(config.get("SMTP_PORT") or 25)
    timeout = config.get("SMTP_TIMEOUT") or DEFAULT_TIMEOUT
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.ehlo()
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(msg)
    log.info("email sent: notification %s to %s", notification.id, notification.recipient_email)


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
