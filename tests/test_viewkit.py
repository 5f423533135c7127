"""viewkit: the one place views commit or roll back and show a service's refusal."""
from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from procure import viewkit
from procure.accounts.models import User
from procure.errors import DomainError
from procure.extensions import db
from tests import factories


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def _rename(user, name, *, refuse=None):
    user.name = name
    db.session.flush()
    if refuse is not None:
        raise DomainError(refuse, field="name")
    return name


def _stored_name(user_id):
    db.session.expire_all()
    return db.session.scalar(select(User.name).where(User.id == user_id))


def test_act_commits_and_flashes_on_success(app, session):
    user = factories.user()
    with app.test_request_context("/"):
        done = viewkit.act(lambda: _rename(user, "新名字"), success=lambda name: f"已改为{name}")
        assert done and done.value == "新名字"
        assert get_flashed_messages(with_categories=True) == [("success", "已改为新名字")]
    session.rollback()  # a commit happened: nothing is left to roll back
    assert _stored_name(user.id) == "新名字"


def test_act_rolls_back_and_shows_the_refusal_on_the_named_field(app, session):
    user = factories.user()
    before = user.name
    with app.test_request_context("/", method="POST", data={"name": "x"}):
        form = NameForm()
        done = viewkit.act(lambda: _rename(user, "不允许", refuse="名字不行"), form=form, success="不会出现")
        assert not done and done.error.message == "名字不行"
        assert form.name.errors == ["名字不行"]
        assert get_flashed_messages() == []
    assert _stored_name(user.id) == before


def test_a_refusal_without_a_matching_field_is_flashed(app, session):
    user = factories.user()
    with app.test_request_context("/"):
        done = viewkit.act(lambda: _rename(user, "x", refuse="不行"))
        assert not done
        assert get_flashed_messages(with_categories=True) == [("danger", "不行")]


def test_submit_does_nothing_until_the_form_is_valid_and_flashes_errors_when_asked(app, session):
    calls = []
    with app.test_request_context("/", method="GET"):
        assert not viewkit.submit(NameForm(), lambda: calls.append(1))
    with app.test_request_context("/", method="POST", data={"name": "ok"}):
        assert viewkit.submit(NameForm(), lambda: calls.append(1))
    assert calls == [1]


def test_found_is_404_for_nothing(app):
    from werkzeug.exceptions import NotFound

    assert viewkit.found(0) == 0
    with pytest.raises(NotFound):
        viewkit.found(None)
