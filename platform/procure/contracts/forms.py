"""Forms of the contract pages: recording the signed contract and a
performance evaluation. The services check the same rules again, and the ones
that need the award, the calendar or the other rows (signing window, term
limit, the three kinds of indicators, maxima summing to 100)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from procure.contracts.models import IndicatorKind

MAX_NUMBER = 60
MAX_INDICATOR_NAME = 200
MAX_SUMMARY = 5000

# Rows of the performance form: (kind, default name, default maximum).
DEFAULT_INDICATORS = (
    (IndicatorKind.OUTPUT.value, "", "40"),
    (IndicatorKind.OUTPUT.value, "", ""),
    (IndicatorKind.EFFECT.value, "", "30"),
    (IndicatorKind.EFFECT.value, "", ""),
    (IndicatorKind.SATISFACTION.value, "", "30"),
    (IndicatorKind.SATISFACTION.value, "", ""),
)


def _day(label, message):
    """A date typed as YYYY-MM-DD (the browser's date input): empty or anything
    else is refused with ``message`` on the field."""
    return DateField(label, format="%Y-%m-%d", validators=[InputRequired(message)], invalid_value_message=message)


class ContractForm(FlaskForm):
    number = StringField(_l("合同编号"), validators=[
        DataRequired(_l("请填写合同编号（60 个字符以内）。")),
        Length(max=MAX_NUMBER, message=_l("请填写合同编号（60 个字符以内）。")),
    ])
    amount = StringField(_l("合同金额（元）"), validators=[DataRequired(_l("请填写合同金额（元）。"))])
    signed_on = _day(_l("签订日期"), _l("请填写签订日期。"))
    starts_on = _day(_l("服务开始日期"), _l("请填写服务开始日期。"))
    ends_on = _day(_l("服务结束日期"), _l("请填写服务结束日期。"))
    recurring = BooleanField(_l("稳定的经常性服务（适用较长的合同期限）"))
    file = FileField(_l("合同文件（PDF、JPG、PNG）"), validators=[FileRequired(_l("请选择合同文件。"))])


class PerformanceForm(FlaskForm):
    """Six indicator rows (fields ``kind-i``, ``name-i``, ``max-i``, ``score-i``;
    attributes ``kind_i`` …), an opinion and an optional report. Empty rows are
    skipped by the service."""

    summary = TextAreaField(_l("评价意见"), validators=[
        Optional(), Length(max=MAX_SUMMARY, message=_l("内容不能超过 %(n)s 个字符。", n=MAX_SUMMARY)),
    ])
    report = FileField(_l("评价报告（可选，PDF、JPG、PNG）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(len(DEFAULT_INDICATORS)):
            # Each row's fields are named in the error summary with the row's number.
            for part, label in (("name", _("指标名称")), ("max", _("分值")), ("score", _("得分"))):
                self[f"{part}_{i}"].label.text = f"{label} {i + 1}"

    def rows(self):
        """(kind, name, maximum, score) fields of each row."""
        return [tuple(self[f"{part}_{i}"] for part in ("kind", "name", "max", "score"))
                for i in range(len(DEFAULT_INDICATORS))]

    @staticmethod
    def aliases() -> dict[str, str]:
        """A service's field names (``name-0``) → the form's (``name_0``)."""
        return {f"{part}-{i}": f"{part}_{i}" for i in range(len(DEFAULT_INDICATORS))
                for part in ("kind", "name", "max", "score")} | {"file": "report"}


for _i, (_kind, _name, _maximum) in enumerate(DEFAULT_INDICATORS):
    setattr(PerformanceForm, f"kind_{_i}", HiddenField(name=f"kind-{_i}", default=_kind))
    setattr(PerformanceForm, f"name_{_i}", StringField(_l("指标名称"), name=f"name-{_i}", default=_name, validators=[
        Length(max=MAX_INDICATOR_NAME, message=_l("请填写指标名称。"))]))
    setattr(PerformanceForm, f"max_{_i}", StringField(_l("分值"), name=f"max-{_i}", default=_maximum))
    setattr(PerformanceForm, f"score_{_i}", StringField(_l("得分"), name=f"score-{_i}", default=""))
