"""Forms of the tender pages. Times are typed in Beijing time."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from procure.tenders.models import EVALUATION_LABELS, METHOD_LABELS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TenderForm(FlaskForm):
    township_id = SelectField(_l("采购乡镇"), coerce=int, validators=[InputRequired(_l("请选择乡镇。"))])
    title = StringField(_l("项目名称"), validators=[DataRequired(_l("请输入项目名称。")), Length(max=200)])
    description = TextAreaField(_l("项目说明"), validators=[Optional(), Length(max=20000)])
    budget = StringField(_l("预算金额（元）"), validators=[Optional()])
    max_price = StringField(_l("最高限价（元）"), validators=[Optional()])
    service_start = DateField(_l("服务开始日期"), validators=[Optional()])
    service_end = DateField(_l("服务结束日期"), validators=[Optional()])
    service_place = StringField(_l("服务地点"), validators=[Optional(), Length(max=300)])
    method = SelectField(_l("采购方式"), choices=[SelectChoice(v, label) for v, label in METHOD_LABELS.items()])
    undertaker_types = MultiCheckboxField(_l("承接主体类型"), choices=[])
    mass_org_first = BooleanField(_l("群团组织优先承接"))
    min_bids = IntegerField(_l("最少投标人数"), validators=[Optional(), NumberRange(1, 99)],
                            description=_l("留空则按采购方式的法定最少人数。"))
    enquiry_deadline = DateTimeLocalField(_l("提问截止时间（北京时间）"), format=DATETIME_FORMAT,
                                          validators=[Optional()])
    bid_deadline = DateTimeLocalField(_l("投标截止时间（北京时间）"), format=DATETIME_FORMAT, validators=[Optional()])
    evaluation_method = SelectField(_l("评审方法"), choices=[SelectChoice(v, label) for v, label in EVALUATION_LABELS.items()])
    price_weight = IntegerField(_l("价格分权重（%）"), validators=[Optional(), NumberRange(0, 100)])
    criteria = TextAreaField(_l("其他评分因素及权重"), validators=[Optional(), Length(max=5000)],
                             description=_l("每行一个：名称,权重（例如“服务方案,50”）。"))
    submit = SubmitField(_l("保存草稿"))


class DocumentForm(FlaskForm):
    file = FileField(_l("招标文件"), validators=[DataRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("上传"))


class AmendForm(FlaskForm):
    summary = TextAreaField(_l("更正内容说明（将公开）"), validators=[DataRequired(_l("请说明更正的内容。")),
                                                              Length(max=20000)])
    description = TextAreaField(_l("项目说明"), validators=[Optional(), Length(max=20000)])
    service_place = StringField(_l("服务地点"), validators=[Optional(), Length(max=300)])
    max_price = StringField(_l("最高限价（元）"), validators=[Optional()])
    enquiry_deadline = DateTimeLocalField(_l("提问截止时间（北京时间）"), format=DATETIME_FORMAT,
                                          validators=[Optional()])
    bid_deadline = DateTimeLocalField(_l("投标截止时间（北京时间）"), format=DATETIME_FORMAT, validators=[Optional()])
    submit = SubmitField(_l("发布更正公告"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("终止理由（将公开）"), validators=[DataRequired(_l("请填写终止的理由（将公开）。")),
                                                          Length(max=20000)])
    submit = SubmitField(_l("发布终止公告"))


class QuestionForm(FlaskForm):
    text = TextAreaField(_l("问题"), validators=[DataRequired(_l("请输入问题（不超过 2000 字）。")), Length(max=2000)])
    submit = SubmitField(_l("提交问题"))


class AnswerForm(FlaskForm):
    text = TextAreaField(_l("回答"), validators=[DataRequired(_l("请输入回答。")), Length(max=20000)])
    submit = SubmitField(_l("发布回答"))


class PublishForm(FlaskForm):
    submit = SubmitField(_l("发布采购公告"))
