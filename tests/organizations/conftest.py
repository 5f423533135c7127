"""Helpers of the organization tests."""
from __future__ import annotations

import io

import pytest

from tests import factories
from tests.conftest import csrf_token
from tests.organizations import files

REGISTER = "/organizations/register"


def registration_form(**overrides) -> dict:
    code = factories.credit_code("52")
    data = {
        "name": "沂南县阳光社会工作服务中心",
        "credit_code": code,
        "org_type": "social_service_agency",
        "county": "371321",
        "address": "沂南县界湖街道澳柯玛大道 8 号",
        "legal_representative": "王芳",
        "contact_person": "刘洋",
        "phone": "13805391234",
        "email": "contact@sunshine.example.com",
        "budget_funded": "no",
        "declares_independent_liability": "y",
        "declares_sound_accounts": "y",
        "declares_tax_social_insurance": "y",
        "declares_no_major_violation": "y",
        "account_name": "王芳",
        "account_email": "wangfang@sunshine.example.com",
        "account_password": factories.PASSWORD,
        "account_password2": factories.PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_registration(client, data: dict, *, certificate=("证书.pdf", None), other=None):
    """POST the registration form with a real CSRF token; ``certificate`` is
    (file name, bytes) — a real PDF by default; None for no file."""
    payload = dict(data)
    payload.setdefault("csrf_token", csrf_token(client, REGISTER))
    if certificate is not None:
        name, content = certificate
        payload["certificate"] = (io.BytesIO(files.pdf() if content is None else content), name)
    if other is not None:
        payload["other_document"] = (io.BytesIO(other[1]), other[0])
    return client.post(REGISTER, data=payload, content_type="multipart/form-data")


@pytest.fixture
def uploads_root(app):
    from pathlib import Path

    return Path(app.instance_path) / "uploads" / "organizations"


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    """scrypt costs ~0.2 s per hash and per check; these tests create and sign in
    many users with the same few passwords, so each (password) hash and each
    (hash, password) check is computed once per test session. The real hashing
    is what it is (tests/accounts); only its repetition is skipped here."""
    from procure.accounts import services as account_services

    real_hash, real_verify = account_services.hash_password, account_services.verify_password

    def cached_hash(password):
        if password not in _HASHES:
            _HASHES[password] = real_hash(password)
        return _HASHES[password]

    def cached_verify(password_hash, password):
        key = (password_hash, password)
        if key not in _CHECKS:
            _CHECKS[key] = real_verify(password_hash, password)
        return _CHECKS[key]

    monkeypatch.setattr(account_services, "hash_password", cached_hash)
    monkeypatch.setattr(account_services, "verify_password", cached_verify)


_HASHES: dict[str, str] = {}
_CHECKS: dict[tuple[str, str], bool] = {}
