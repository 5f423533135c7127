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
