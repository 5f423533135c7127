"""The challenge and contract pages validate through their Flask-WTF forms
(``challenges/forms.py``, ``contracts/forms.py``): a refused submit shows the
page again with each message on its field (``aria-invalid``,
``aria-describedby`` → ``<field id>-error``), in the visitor's language, and
stores nothing."""
from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from procure.challenges.models import Challenge, ChallengeStatus
from procure.contracts.models import Contract, PerformanceEvaluation
from procure.evaluation import clocks
from procure.timeutil import utcnow
from tests.evaluation import world as world_mod
from tests.organizations import files


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    world_mod.fast_passwords(monkeypatch)


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _client(app, user, language="zh"):
    client, token = world_mod.client_as(app, user)
    if language != "zh":
        client.post(f"/language/{language}", data={"csrf_token": token})
    return client, token


def _field_error(html: str, field_id: str) -> str:
    """The text of the field's message element; the field points at it."""
    field = re.search(rf'<(?:input|textarea|select)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert field, f"no field #{field_id}"
    assert 'aria-invalid="true"' in field.group(0), field.group(0)
    assert f'aria-describedby="{field_id}-error"' in field.group(0), field.group(0)
    message = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</div>\s*</div>', html, re.S)
    assert message, f"no message for #{field_id}"
    return re.sub(r"<[^>]+>", "", message.group(1)).strip()


def _awarded(session, *, days_ago=0):
    w = world_mod.build()
    _ev, award = world_mod.awarded(session, w, now=utcnow() - timedelta(days=days_ago, hours=1))
    return w, award


def _loser(w, award) -> int:
    return next(i for i, o in enumerate(w.orgs) if o.id != award.organization_id)


@pytest.mark.parametrize(("language", "empty_text", "bad_subject"), [
    ("zh", "请写明质疑的事项和理由。", "请选择质疑事项。"),
    ("en", "State what you challenge and why.", None),
])
def test_a_refused_challenge_shows_each_message_on_its_field(app, session, language, empty_text, bad_subject):
    w, award = _awarded(session)
    client, token = _client(app, w.bidder_users[_loser(w, award)], language)
    path = f"/tenders/{w.tender.id}/challenges/new"
    response = client.post(path, data={"csrf_token": token, "subject": "result", "text": "   "})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _field_error(html, "text") == empty_text
    html = client.post(path, data={"csrf_token": token, "subject": "nonsense", "text": "评分不公"}).get_data(as_text=True)
    if bad_subject:
        assert _field_error(html, "subject") == bad_subject
    else:
        assert _field_error(html, "subject")  # translated, whatever the words
    assert "评分不公" in html  # what was typed is kept
    # Evidence refused by its content: the message is on the files field.
    html = client.post(path, data={"csrf_token": token, "subject": "result", "text": "x",
                                   "files": (BytesIO(b"MZ\x90\x00 not a pdf"), "a.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Windows" in _field_error(html, "files")
    assert _count(session, Challenge) == 0


def test_a_reply_without_verdict_or_text_is_refused_on_its_fields(app, session):
    w, award = _awarded(session)
    bidder, token = _client(app, w.bidder_users[_loser(w, award)])
    bidder.post(f"/tenders/{w.tender.id}/challenges/new",
                data={"csrf_token": token, "subject": "result", "text": "评分不公"})
    challenge = session.scalar(select(Challenge))
    officer, token = _client(app, w.officer, "en")
    response = officer.post(f"/manage/challenges/{challenge.id}",
                            data={"csrf_token": token, "action": "reply", "text": ""})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Choose whether the challenge is upheld." in html
    assert 'id="verdict-error"' in html
    assert _field_error(html, "text")
    session.expire_all()
    assert session.get(Challenge, challenge.id).status == ChallengeStatus.PENDING
    assert officer.post(f"/manage/challenges/{challenge.id}",
                        data={"csrf_token": token, "action": "reply", "verdict": "rejected",
                              "text": "经复核，评分符合评审办法。"}).status_code == 302
    session.expire_all()
    assert session.get(Challenge, challenge.id).status == ChallengeStatus.REJECTED


def _contract_form(award, **overrides):
    today = clocks.local_date(utcnow(), "Asia/Shanghai")
    data = dict(number="HT-1", amount=str(award.amount), signed_on=today.isoformat(), starts_on=today.isoformat(),
                ends_on=(today + timedelta(days=200)).isoformat())
    data.update(overrides)
    return data


@pytest.mark.parametrize(("language", "no_date", "no_file"), [
    ("zh", "请填写签订日期。", "请选择合同文件。"),
    ("en", "Enter the signing date.", "Choose the contract file."),
])
def test_a_refused_contract_shows_each_message_on_its_field(app, session, language, no_date, no_file):
    w, award = _awarded(session, days_ago=10)
    client, token = _client(app, w.officer, language)
    path = f"/manage/tenders/{w.tender.id}/contract"
    form = _contract_form(award, signed_on="2026-13-45", number="")
    html = client.post(path, data={"csrf_token": token, **form},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert _field_error(html, "signed_on") == no_date
    assert _field_error(html, "file") == no_file
    assert _field_error(html, "number")
    assert 'id="starts_on-error"' not in html  # the good fields carry no message
    # A rule of the service (term over 12 months) lands on its field too.
    today = clocks.local_date(utcnow(), "Asia/Shanghai")
    form = _contract_form(award, ends_on=(today + timedelta(days=400)).isoformat())
    html = client.post(path, data={"csrf_token": token, **form, "file": (BytesIO(files.pdf()), "合同.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "12" in _field_error(html, "ends_on")
    assert _count(session, Contract) == 0


def test_a_refused_performance_row_shows_the_message_on_its_cell(app, session):
    w, award = _awarded(session, days_ago=10)
    client, token = _client(app, w.officer)
    client.post(f"/manage/tenders/{w.tender.id}/contract",
                data={"csrf_token": token, **_contract_form(award), "file": (BytesIO(files.pdf()), "合同.pdf")},
                content_type="multipart/form-data")
    assert _count(session, Contract) == 1
    perf = f"/manage/tenders/{w.tender.id}/performance"
    rows = {"name-0": "产出", "max-0": "40", "score-0": "30", "kind-0": "output",
            "name-2": "效益", "max-2": "30", "score-2": "45", "kind-2": "effect",
            "name-4": "满意度", "max-4": "30", "score-4": "15", "kind-4": "satisfaction"}
    html = client.post(perf, data={"csrf_token": token, **rows}).get_data(as_text=True)
    assert "效益" in _field_error(html, "score-2")  # 45 > 30 points
    assert 'aria-label="得分 3"' in html  # each cell is named with its row
    # The summary at the top links to the cell.
    assert 'href="#score-2"' in html
    assert _count(session, PerformanceEvaluation) == 0
    rows["score-2"] = "25"
    assert client.post(perf, data={"csrf_token": token, **rows}).status_code == 302
    assert _count(session, PerformanceEvaluation) == 1
