"""Private pages (anything answered to a signed-in user) are never stored by a
browser or proxy; documents download under a name the platform builds; the
web server names no version."""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests import factories
from tests.conftest import ROOT, login
from tests.test_access_matrix import MATRIX_ENTRIES, ROLES, _client_as, _method, _url
from tests.test_hostile_input import world  # noqa: F401 (fixture: the access matrix's world)


def test_every_page_a_signed_in_user_gets_is_no_store(app, world):  # noqa: F811
    from procure.extensions import limiter

    checked, problems = 0, []
    for entry in MATRIX_ENTRIES:
        if _method(app, entry) != "GET" or entry.endpoint in ("static", "bootstrap.static"):
            continue
        url = _url(app, entry, world)
        for role in ROLES:
            if role == "anonymous" or entry.expected[role].status != 200:
                continue
            limiter.reset()
            client, _token = _client_as(app, role, world)
            response = client.get(url)
            if response.status_code != 200:
                continue
            checked += 1
            if "no-store" not in response.headers.get("Cache-Control", ""):
                problems.append(f"{role:14} GET {url}: Cache-Control {response.headers.get('Cache-Control')!r}")
    assert checked > 40
    assert not problems, "\n".join(problems)


def test_public_pages_for_visitors_stay_cacheable(client):
    for path in ("/", "/organizations", "/static/procure.css"):
        assert "no-store" not in client.get(path).headers.get("Cache-Control", ""), path


def test_error_page_of_a_signed_in_user_is_no_store(client):
    factories.officer(email="o@example.com")
    login(client, "o@example.com", factories.PASSWORD)
    assert "no-store" in client.get("/no/such/page").headers["Cache-Control"]


# --- document download names ----------------------------------------------------------


def _download_name(response) -> str:
    disposition = response.headers["Content-Disposition"]
    if "filename*=" in disposition:
        return unquote(disposition.split("filename*=", 1)[1].split("''", 1)[1])
    return disposition.split("filename=", 1)[1].strip('"')


@pytest.mark.parametrize("uploaded_as, content, expected", [
    ("evil.html", "png", "evil.png"),
    ("证书.pdf.exe", "pdf", "证书_pdf.pdf"),
    ('a"; filename=x.html', "jpeg", "a_ filename_x.jpg"),
    ("..", "pdf", "document.pdf"),
])
def test_documents_download_under_a_name_built_by_the_platform(app, client, session, uploaded_as, content,
                                                               expected):
    from procure.organizations import services
    from tests.organizations import files

    admin = factories.user(email="admin@org.example.com")
    org = factories.organization(status="pending", admin_user=admin)
    settings = services.UploadSettings(root=Path(app.instance_path) / "uploads" / "organizations", max_bytes=10**6)
    doc = services.add_document(session, org, services.Upload("registration_certificate", uploaded_as,
                                                              getattr(files, content)()),
                                uploaded_by=admin, settings=settings)
    session.commit()
    login(client, "admin@org.example.com", factories.PASSWORD)
    response = client.get(f"/organizations/documents/{doc.id}")
    assert response.status_code == 200
    assert _download_name(response) == expected
    assert "no-store" in response.headers["Cache-Control"]


# --- the web server's Server header -----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_as_make_run_starts_it_names_no_version(tmp_path):
    """The web command of ``make run`` (the image and compose run the same
    pinned gunicorn): no version of gunicorn, Werkzeug or Python in any header."""
    from workers.devrun import commands

    port = _free_port()
    argv = commands("127.0.0.1", port, tmp_path / "schedule", "INFO", web_workers=1)["web"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCURE_")}
    env.update(PROCURE_INSTANCE_PATH=str(tmp_path), PROCURE_SECRET_KEY="s" * 40,
               PROCURE_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/procure.css", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        headers = {k.lower(): v for k, v in response.headers.items()}
    finally:
        process.terminate()
        process.wait(timeout=15)
    server = headers.get("server", "")
    assert not any(ch.isdigit() for ch in server), server
    for value in headers.values():
        assert "Werkzeug" not in value and "Python/" not in value
