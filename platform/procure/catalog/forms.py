"""Forms of the county officer's catalog management."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from procure.catalog import undertakers
from procure.catalog.models import UndertakerType
from procure.catalog.services import ItemData

# Largest amount a Numeric(14, 2) column holds.
MAX_BUDGET = Decimal("999999999999.99")
_BUDGET_JUNK = str.maketrans("", "", " ,，元¥￥")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９．", "0123456789.")


def undertaker_labels() -> dict[str, str]:
    """Type value → label in the UI language, in the canonical order."""
    return {t.value: str(undertakers.LABELS.get(t.value, t.value)) for t in UndertakerType}


def describe_types(types, notes=None) -> str:
    """``社会组织、企业（律师事务所）``: the types in canonical order, with their notes."""
    return undertakers.describe(types, notes)


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        valid = {str(value) for value, *_ in self.iter_choices()}
        unknown = [v for v in (self.data or []) if v not in valid]
        if unknown:
            raise ValidationError(_l("未知的承接主体类型：%(t)s", t="、".join(unknown)))


class BudgetField(StringField):
    """An amount in yuan, optional; accepts 12000, 12,000.50, ￥12000 元."""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "") or ""
        self.data = None
        text = self.raw.translate(_FULLWIDTH_DIGITS).translate(_BUDGET_JUNK)
        if not text:
            return
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(_l("参考预算应为金额数字（元），如 50000 或 50000.00。")) from None
        if not value.is_finite():
            raise ValueError(_l("参考预算应为金额数字（元），如 50000 或 50000.00。"))
        if value < 0:
            raise ValueError(_l("参考预算不能为负数。"))
        if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
            raise ValueError(_l("参考预算最多保留两位小数（分）。"))
        if value > MAX_BUDGET:
            raise ValueError(_l("参考预算金额过大。"))
        self.data = value.quantize(Decimal("0.01"))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:.2f}" if self.data is not None else ""


class NewDraftForm(FlaskForm):
    year = StringField(
        _l("年度"),
        validators=[
            DataRequired(_l("请填写年度。")),
            Regexp(r"^\s*\d{4}\s*$", message=_l("年度应为四位数字，如 2026。")),
        ],
    )
    copy_from = SelectField(_l("内容"), choices=[], validate_choice=True)
    submit = SubmitField(_l("新建草稿"))

    def __init__(self, *args, published=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.copy_from.choices = [("", str(_l("空白目录")))] + [
            (str(c.id), str(_l("复制 %(year)d 年第 %(version)d 版（已发布）", year=c.year, version=c.version)))
            for c in published
        ]
        self.copy_from.pre_validate = self._pre_validate_copy

    def _pre_validate_copy(self, form):
        if self.copy_from.data not in {value for value, _label in self.copy_from.choices}:
            raise ValidationError(_l("请选择空白目录或一个已发布的版本。"))


class CategoryForm(FlaskForm):
    """Add a category (under ``parent_id``, or at level 1) or rename one."""

    name = StringField(
        _l("目录名称"),
        validators=[
            DataRequired(_l("请填写目录名称。")),
            Length(max=200, message=_l("目录名称不能超过 200 个字。")),
        ],
    )
    parent_id = HiddenField()
    submit = SubmitField(_l("保存"))


class ConfirmForm(FlaskForm):
    """An empty form: the POST of a button, with its CSRF token."""

    submit = SubmitField(_l("确定"))


class PublishForm(FlaskForm):
    confirm = BooleanField(
        _l("我已核对目录内容，确认发布"), validators=[DataRequired(_l("请勾选确认后再发布。"))]
    )
    submit = SubmitField(_l("发布"))


class ImportForm(FlaskForm):
    file = FileField(_l("XLSX 文件"), validators=[FileRequired(_l("请选择要导入的 XLSX 文件。"))])
    submit = SubmitField(_l("导入"))

    def validate_file(self, field):
        upload = field.data
        if not (upload.filename or "").lower().endswith(".xlsx"):
            raise ValidationError(_l("只能导入 .xlsx 格式的 Excel 文件（不支持 .xls、.csv 等）。"))
        limit = current_app.config["CATALOG_IMPORT_MAX_BYTES"]
        stream = upload.stream
        size = stream.seek(0, 2)
        stream.seek(0)
        if size > limit:
            raise ValidationError(
                _l("文件太大（%(size)s），上限为 %(limit)s。", size=_mb(size), limit=_mb(limit))
            )
        if size == 0:
            raise ValidationError(_l("文件是空的。"))


def _mb(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


class ItemForm(FlaskForm):
    name = StringField(
        _l("服务事项名称"),
        validators=[
            DataRequired(_l("请填写服务事项名称。")),
            Length(max=200, message=_l("服务事项名称不能超过 200 个字。")),
        ],
    )
    service_content = TextAreaField(
        _l("服务内容/说明"), validators=[Length(max=5000, message=_l("服务内容不能超过 5000 个字。"))]
    )
    purchasing_department = StringField(
        _l("购买主体（负责部门）"),
        validators=[Length(max=200, message=_l("购买主体不能超过 200 个字。"))],
    )
    undertaker_types = MultiCheckboxField(
        _l("承接主体类型"), validators=[DataRequired(_l("请至少选择一种承接主体类型。"))], choices=[]
    )
    mass_org_first = BooleanField(_l("群团组织优先承接"))
    notes = TextAreaField(_l("备注"), validators=[Length(max=5000, message=_l("备注不能超过 5000 个字。"))])
    reference_budget = BudgetField(_l("参考预算（元）"), validators=[Optional(strip_whitespace=True)])
    submit = SubmitField(_l("保存"))

    # One optional note per undertaker type, e.g. "律师事务所" for 企业.
    NOTE_PREFIX = "note_"

    def __init__(self, *args, item=None, **kwargs):
        super().__init__(*args, obj=item, **kwargs)
        labels = undertaker_labels()
        self.undertaker_types.choices = list(labels.items())
        self.type_labels = labels
        if item is not None and not self.is_submitted():
            for value, text in (item.undertaker_notes or {}).items():
                if value in labels:
                    self[self.NOTE_PREFIX + value].data = text

    def note_field(self, type_value: str):
        return self[self.NOTE_PREFIX + type_value]

    def to_data(self) -> ItemData:
        types = list(self.undertaker_types.data or [])
        notes = {}
        for value in types:
            text = " ".join((self.note_field(value).data or "").split())
            if text:
                notes[value] = text
        return ItemData(
            name=self.name.data or "",
            service_content=self.service_content.data or "",
            purchasing_department=self.purchasing_department.data or "",
            undertaker_types=types,
            undertaker_notes=notes,
            mass_org_first=bool(self.mass_org_first.data),
            notes=self.notes.data or "",
            reference_budget=self.reference_budget.data,
        )


for _type in UndertakerType:
    setattr(
        ItemForm,
        ItemForm.NOTE_PREFIX + _type.value,
        StringField(
            _l("说明"), validators=[Length(max=200, message=_l("承接主体说明不能超过 200 个字。"))]
        ),
    )
