"""Forms: follow a county or category; email preferences."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from procure.alerts import preferences


class FollowForm(FlaskForm):
    county = SelectField(_l("区县"), validators=[DataRequired(message=_l("请选择区县。"))])
    category = StringField(
        _l("类别编码（可选）"),
        validators=[Optional(), Length(max=16), Regexp(r"^[A-Za-z0-9]+$", message=_l("类别编码只能包含字母和数字。"))],
        description=_l("留空表示关注该区县的全部项目；填写目录中的类别编码（如 A01）只关注该类别。"),
    )
    submit = SubmitField(_l("关注"))


class PreferencesForm(FlaskForm):
    tender_alerts = RadioField(
        _l("新项目提醒"),
        choices=[SelectChoice(preferences.EACH, _l("每个新项目一封邮件")), SelectChoice(preferences.DIGEST, _l("每日摘要")),
                 SelectChoice(preferences.OFF, _l("不接收"))],
        validators=[DataRequired()],
    )
    deadline_reminders = RadioField(
        _l("投标截止提醒"),
        choices=[SelectChoice(preferences.ON, _l("接收")), SelectChoice(preferences.OFF, _l("不接收"))],
        validators=[DataRequired()],
    )
    officer_digest = RadioField(
        _l("每日待办摘要"),
        choices=[SelectChoice(preferences.ON, _l("接收")), SelectChoice(preferences.OFF, _l("不接收"))],
        validators=[Optional()],
    )
    submit = SubmitField(_l("保存"))
