"""Forms of the bidding organization's pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class BidForm(FlaskForm):
    price = StringField(_l("投标报价（元）"), validators=[Optional()])
    technical = TextAreaField(_l("技术和服务方案"), validators=[Optional(), Length(max=50000)])
    team = TextAreaField(_l("项目团队"), validators=[Optional(), Length(max=50000)])
    qualified = BooleanField(_l("本机构符合采购公告规定的资格条件"))
    no_collusion = BooleanField(_l("本机构未与其他投标人串通投标"))
    accepts_terms = BooleanField(_l("本机构接受采购文件的全部条款"))
    save = SubmitField(_l("保存草稿"))
    submit = SubmitField(_l("提交投标"))


class FileForm(FlaskForm):
    file = FileField(_l("附件（PDF、DOCX、XLSX、JPG、PNG）"), validators=[DataRequired(_l("请选择文件。"))])
    upload = SubmitField(_l("上传附件"))


class ActionForm(FlaskForm):
    """A bare POST (withdraw, confirm, remove a file) with its CSRF token."""
