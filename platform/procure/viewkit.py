"""Load, authorize, act, commit: the one way a view changes something.

Every page that changes data says the same sentence: load the object named by
the URL (404 when it does not exist), ask ``procure.policy`` whether the user
may (403, or 404 when the object must stay hidden), call the service; when the
service refuses (``DomainError``) roll back and show its message on the form
field it names (or flash it), else commit, flash what happened and redirect.
This module writes that sentence once; a view only fills in the words::

    @bp.route("/manage/tenders/<int:tender_id>/publish", methods=["GET", "POST"])
    @login_required
    def publish(tender_id: int):
        tender = found(queries.get_tender(db.session, tender_id))           # 404
        policy.require(policy.can_manage_tender(current_user, tender))       # 403
        form = forms.PublishForm()
        if submit(form, lambda: services.publish(db.session, tender, current_user),
                  success=_("招标公告已发布。")):
            return redirect(url_for("tenders.show", tender_id=tender.id))
        return render_template("tenders/publish.html", tender=tender, form=form)

``submit`` validates the form (field errors stay on the form), calls the
action, and on a refusal rolls back and puts the message on ``form[exc.field]``
(or flashes it). For a POST that only redirects (a button on another page) pass
``flash_errors=True``: every problem, the form's own included, is flashed.
Without a form, ``act(action, success=...)`` does the same minus validation.
Both return an ``Outcome``: true when committed, with the action's ``value``;
false with the refusal in ``error`` (``None`` when the form was not valid).
``success`` may be a callable taking the action's result, for messages that
name what was created. Services flush and never commit; only ``act`` commits.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, flash
from sqlalchemy.exc import IntegrityError

from procure.errors import DomainError
from procure.extensions import db

T = TypeVar("T")
Message = Any  # str or a lazy_gettext string
Success = Message | Callable[[Any], Message] | None


@dataclass
class Outcome:
    """What ``act``/``submit`` did: truthy when the change was committed."""

    ok: bool
    value: Any = None
    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.ok


def found(obj: T | None) -> T:
    """``obj``, or a 404 when the URL named nothing."""
    if obj is None:
        abort(404)
    return obj


def show_error(form, exc: DomainError, *, aliases: Mapping[str, str] | None = None,
               fallback: str | None = None) -> None:
    """Put a service's refusal on the form field it names (``exc.field``,
    renamed through ``aliases``; else the ``fallback`` field); flash it when the
    form has no such field or there is no form."""
    name = (aliases or {}).get(exc.field, exc.field) if exc.field else None
    fields = getattr(form, "_fields", {}) if form is not None else {}
    field = fields.get(name) if name else None
    if field is None and fallback:
        field = fields.get(fallback)
    if field is None:
        flash(str(exc.message), "danger")
        return
    field.errors = [*field.errors, str(exc.message)]


def flash_form_errors(form) -> None:
    """Flash every validation error of a form that is not shown again."""
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "danger")


def act(action: Callable[[], Any], *, success: Success = None, form=None, show: bool = True,
        aliases: Mapping[str, str] | None = None, fallback: str | None = None,
        conflict: Message | None = None, category: str = "success") -> Outcome:
    """Call ``action()``. On ``DomainError``: roll back and (``show``) put the
    message on ``form`` or flash it. Else commit and flash ``success``.

    ``conflict``: the message for an ``IntegrityError`` (a concurrent request
    took the same unique value first); without it such an error propagates."""
    try:
        value = action()
    except DomainError as exc:
        db.session.rollback()
        if show:
            show_error(form, exc, aliases=aliases, fallback=fallback)
        return Outcome(False, error=exc)
    except IntegrityError:
        db.session.rollback()
        if conflict is None:
            raise
        flash(str(conflict), "danger")
        return Outcome(False)
    db.session.commit()
    message = success(value) if callable(success) else success
    if message:
        flash(str(message), category)
    return Outcome(True, value=value)


def submit(form, action: Callable[[], Any], *, success: Success = None, flash_errors: bool = False,
           show: bool = True, aliases: Mapping[str, str] | None = None, fallback: str | None = None,
           conflict: Message | None = None, category: str = "success") -> Outcome:
    """``act`` once ``form`` is submitted and valid. ``flash_errors``: the form
    is not rendered again (the view redirects), so its problems are flashed."""
    if not form.validate_on_submit():
        if flash_errors:
            flash_form_errors(form)
        return Outcome(False)
    return act(action, success=success, form=None if flash_errors else form, show=show,
               aliases=aliases, fallback=fallback, conflict=conflict, category=category)
