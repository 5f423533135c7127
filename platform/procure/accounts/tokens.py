"""Signed, expiring tokens for links sent by email (confirmation, password reset,
invitations).

A token is signed with the application secret and salted with its *purpose*, so a
token made for one purpose is never accepted for another. Tokens carry their
creation time; ``loads`` refuses them after ``max_age`` seconds. Single use is the
caller's business: embed something in ``data`` that changes once the token has
been used (see ``services.reset_password``).
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from procure.errors import DomainError


class InvalidToken(DomainError):
    """A link that cannot be used. ``reason`` is ``"expired"`` (too old),
    ``"invalid"`` (broken, tampered with, or for another purpose) or ``"used"``
    (single-use link already used; raised by the services that check it)."""

    def __init__(self, message, *, reason: str = "invalid"):
        super().__init__(message, field="token")
        self.reason = reason

    @property
    def expired(self) -> bool:
        return self.reason == "expired"


def _serializer(purpose: str, secret_key: str | None = None) -> URLSafeTimedSerializer:
    if not purpose:
        raise ValueError("a token needs a purpose")
    return URLSafeTimedSerializer(secret_key or current_app.config["SECRET_KEY"], salt=purpose)


def dumps(purpose: str, data: Any, *, secret_key: str | None = None) -> str:
    """A URL-safe signed token carrying ``data`` (anything JSON can hold)."""
    return _serializer(purpose, secret_key).dumps(data)


def loads(purpose: str, token: str, max_age: int, *, secret_key: str | None = None) -> Any:
    """The data of a token made by ``dumps`` for the same purpose, at most
    ``max_age`` seconds ago. Raises ``InvalidToken`` otherwise."""
    try:
        return _serializer(purpose, secret_key).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken(_l("链接已过期，请重新申请。"), reason="expired") from exc
    except BadSignature as exc:
        raise InvalidToken(_l("链接无效：可能不完整或已被修改，请使用邮件中的完整链接。")) from exc
