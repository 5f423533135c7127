"""Resident identity numbers (居民身份证号码) of natural-person undertakers.

Validated with python-stdnum (``stdnum.cn.ric``), stored only encrypted (Fernet,
AES-128-CBC + HMAC, under the configured ``IDENTITY_KEY``), compared through a
keyed digest (HMAC-SHA256) so a number registers once, and shown to reviewing
officers masked (3713**********123X); never to the public.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from procure.errors import DomainError


@dataclass(frozen=True)
class IdentityKeys:
    """The encryption and digest keys, from one secret."""

    secret: bytes

    @classmethod
    def from_config(cls, config) -> IdentityKeys:
        """``IDENTITY_KEY`` when set, else derived from ``SECRET_KEY`` (so a
        deployment that rotates its secret key sets IDENTITY_KEY first)."""
        raw = config.get("IDENTITY_KEY") or f"identity:{config['SECRET_KEY']}"
        return cls(hashlib.sha256(raw.encode()).digest())

    def _fernet(self):
        from cryptography.fernet import Fernet

        return Fernet(base64.urlsafe_b64encode(hmac.new(self.secret, b"encrypt", hashlib.sha256).digest()))

    def encrypt(self, number: str) -> str:
        return self._fernet().encrypt(number.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet().decrypt(token.encode()).decode()

    def digest(self, number: str) -> str:
        return hmac.new(self.secret, b"digest:" + number.encode(), hashlib.sha256).hexdigest()


def validate(raw: str | None) -> str:
    """The number in its compact form, or DomainError (field ``id_number``)."""
    if not (raw or "").strip():
        raise DomainError(_l("自然人请填写居民身份证号码。"), field="id_number")
    try:
        return ric.validate(raw)
    except ValidationError:
        raise DomainError(_l("居民身份证号码无效：请核对 18 位号码（最后一位可能是 X）。"), field="id_number") from None


def masked(number: str) -> str:
    """3713**********123X: the region and the last four characters."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)
