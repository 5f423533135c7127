"""Forms of the challenge pages: filing a challenge (bidders), the reply and
what follows an upheld challenge (officers). The officer's page posts one of
three forms, told apart by its ``action`` (a plain hidden input). The services
check the same rules again, and the ones that need the database (windows,
bidders, evidence)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from procure.challenges.models import SUBJECT_LABELS
from procure.challenges.services import MAX_TEXT

_TOO_LONG = _l("内容不能超过 %(n)s 个字符。", n=MAX_TEXT)


class ChallengeForm(FlaskForm):
    subject = SelectField(_l("质疑事项"), choices=[SelectChoice(v, label) for v, label in SUBJECT_LABELS.items()],
                          invalid_choice_message=_l("请选择质疑事项。"))
    text = TextAreaField(_l("质疑内容和理由"), validators=[DataRequired(_l("请写明质疑的事项和理由。")),
                                                    Length(max=MAX_TEXT, message=_TOO_LONG)])
    files = MultipleFileField(_l("证明材料（PDF、JPG、PNG，最多 5 个）"))


class ReplyForm(FlaskForm):
    verdict = RadioField(_l("质疑是否成立"), choices=[SelectChoice("rejected", _l("质疑不成立")),
                                                          SelectChoice("upheld", _l("质疑成立"))],
                         invalid_choice_message=_l("请选择质疑是否成立。"))
    text = TextAreaField(_l("答复内容（质疑人可见）"), validators=[DataRequired(_l("请填写答复内容。")),
                                                         Length(max=MAX_TEXT, message=_TOO_LONG)])


class ReopenForm(FlaskForm):
    """Re-open the evaluation: a bare POST with its CSRF token."""


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("终止理由（将公开）"), validators=[DataRequired(_l("请填写终止的理由（将公开）。"))])
