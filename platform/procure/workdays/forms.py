"""The admin's form to enter a year of the official calendar."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from procure.workdays.services import MAX_YEAR, MIN_YEAR


class YearForm(FlaskForm):
    year = IntegerField(
        _l("年份"),
        validators=[InputRequired(_l("请输入年份。")), NumberRange(MIN_YEAR, MAX_YEAR, _l("年份超出范围。"))],
    )
    holidays = TextAreaField(
        _l("放假日期"),
        description=_l("每行一个日期（YYYY-MM-DD），可在日期后加名称，例如“2027-02-05 春节”。包括调休放假的日期。"),
        validators=[Optional()],
    )
    workdays = TextAreaField(
        _l("调休上班日期"),
        description=_l("每行一个周六或周日上班的日期（YYYY-MM-DD）。"),
        validators=[Optional()],
    )
    csv_file = FileField(
        _l("或上传 CSV 文件"),
        description=_l("UTF-8 编码，每行“日期,类型,名称”，类型为“休”或“班”（也可写 holiday / workday）。上传文件时忽略上面两个文本框。"),
    )
    submit = SubmitField(_l("保存该年安排"))
