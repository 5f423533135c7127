"""The organization's own documents: upload by content, delete before verification."""
import io

import pytest
from sqlalchemy import func, select

from procure.organizations.models import OrganizationDocument
from tests import factories
from tests.conftest import csrf_token, login
from tests.organizations import files


@pytest.fixture
def admin_client(client, session):
    admin = factories.user(email="docs@org.example.com")
    org = factories.organization(status="pending", admin_user=admin)
    login(client, "docs@org.example.com", factories.PASSWORD)
    return client, org


def upload(client, name, data, kind="financial"):
    token = csrf_token(client, "/organizations/mine")
    return client.post(
        "/organizations/mine/documents",
        data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def docs(session):
    return session.scalar(select(func.count()).select_from(OrganizationDocument))


def test_upload_jpeg(admin_client, session):
    client, org = admin_client
    html = upload(client, "审计报告.jpg", files.jpeg()).get_data(as_text=True)
    assert "材料已上传" in html and "审计报告.jpg" in html
    assert session.scalar(select(OrganizationDocument.content_type)) == "image/jpeg"


def test_disguised_exe_refused(admin_client, session):
    client, _org = admin_client
    html = upload(client, "report.pdf", files.exe()).get_data(as_text=True)
    assert "Windows 可执行程序" in html
    assert docs(session) == 0


def test_oversized_refused(admin_client, session, app, monkeypatch):
    client, _org = admin_client
    monkeypatch.setitem(app.config, "ORG_DOCUMENT_MAX_BYTES", 1024)
    html = upload(client, "big.pdf", files.pdf(extra=5000)).get_data(as_text=True)
    assert "文件太大" in html and docs(session) == 0


def test_unknown_kind_refused(admin_client, session):
    client, _org = admin_client
    html = upload(client, "a.pdf", files.pdf(), kind="passport").get_data(as_text=True)
    assert "不是有效的选择" in html and docs(session) == 0


def test_upload_without_csrf_changes_nothing(admin_client, session):
    client, _org = admin_client
    response = client.post(
        "/organizations/mine/documents",
        data={"kind": "other", "file": (io.BytesIO(files.pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and docs(session) == 0


def test_delete_before_verification_only(admin_client, session, uploads_root):
    client, org = admin_client
    upload(client, "a.pdf", files.pdf())
    doc = session.scalar(select(OrganizationDocument))
    path = uploads_root / str(org.id) / doc.stored_name
    assert path.exists()
    token = csrf_token(client, "/organizations/mine")
    client.post(f"/organizations/mine/documents/{doc.id}/delete", data={"csrf_token": token})
    assert docs(session) == 0 and not path.exists()

    upload(client, "b.pdf", files.pdf())
    from procure.organizations import services

    services.approve(session, org, officer=factories.officer())
    session.commit()
    doc = session.scalar(select(OrganizationDocument))
    html = client.post(f"/organizations/mine/documents/{doc.id}/delete", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "已认证机构的材料不能删除" in html and docs(session) == 1


def test_cannot_delete_another_organizations_document(admin_client, session, app):
    from pathlib import Path

    from procure.organizations import services

    client, _org = admin_client
    other = factories.organization(status="pending")
    settings = services.UploadSettings(root=Path(app.instance_path) / "uploads" / "organizations", max_bytes=10**6)
    doc = services.add_document(session, other, services.Upload("other", "x.pdf", files.pdf()), uploaded_by=None,
                                settings=settings)
    session.commit()
    token = csrf_token(client, "/organizations/mine")
    assert client.post(f"/organizations/mine/documents/{doc.id}/delete", data={"csrf_token": token}).status_code == 404
    assert docs(session) == 1
