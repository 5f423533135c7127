"""Forms of the organization pages. Field rules that need the database or
domain knowledge (credit code, phone) call the same functions the services use,
so a form shows every problem at once and the service still refuses bad data."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, StopValidation, ValidationError

from procure.errors import DomainError
from procure.organizations import credit_codes, services
from procure.organizations.models import DOCUMENT_KIND_LABELS, ORG_TYPE_LABELS, OrgType


def _domain(check):
    """A WTForms validator from a domain check raising DomainError."""

    def validator(form, field):
        try:
            check(field.data)
        except DomainError as exc:
            raise ValidationError(str(exc.message)) from None

    return validator


def _unless_natural_person(*validators):
    """Run ``validators`` unless the form's type is a natural person (who has no credit code)."""

    def validator(form, field):
        if form.org_type.data == OrgType.NATURAL_PERSON.value:
            field.errors[:] = []
            raise StopValidation()
        for check in validators:
            check(form, field)

    return validator


def _declaration(label):
    return BooleanField(label, validators=[DataRequired(_l("必须确认此项声明才能提交。"))])


class OrganizationForm(FlaskForm):
    name = StringField(_l("机构名称"), validators=[DataRequired(_l("请输入机构名称。")), Length(max=200)])
    credit_code = StringField(
        _l("统一社会信用代码"),
        description=_l("18 位，见营业执照或登记证书；空格、连字符和小写字母会自动规范。自然人不填。"),
        validators=[_unless_natural_person(DataRequired(_l("请输入统一社会信用代码。")), _domain(credit_codes.validate))],
    )
    org_type = SelectField(
        _l("机构类型"),
        choices=[SelectChoice("", _l("请选择……"))]
        + [SelectChoice(value, label) for value, label in ORG_TYPE_LABELS.items()],
        validators=[DataRequired(_l("请选择机构类型。"))],
        description=_l("请如实选择：公益一类事业单位和财政拨款保障的群团组织机关依法不能承接政府购买服务。"),
    )
    mass_org_affiliate = BooleanField(
        _l("本机构是群团组织（共青团、妇联、工会、残联等）所属或主管的单位（如青年志愿者协会）"),
        description=_l("群团组织所属单位均由审核人员人工审核。"),
    )
    county = SelectField(_l("所在区县"), validators=[DataRequired(_l("请选择机构所在的区县。"))], choices=[])
    address = StringField(_l("地址"), validators=[DataRequired(_l("请输入地址。")), Length(max=300)])
    legal_representative = StringField(
        _l("法定代表人（负责人）"), validators=[DataRequired(_l("请输入法定代表人（负责人）。")), Length(max=100)]
    )
    contact_person = StringField(_l("联系人"), validators=[DataRequired(_l("请输入联系人。")), Length(max=100)])
    phone = StringField(
        _l("联系电话"),
        description=_l("手机号或带区号的固定电话，如 13812345678、0539-3221234。"),
        validators=[DataRequired(_l("请输入联系电话。")), _domain(services.normalize_phone)],
    )
    email = EmailField(
        _l("机构邮箱"),
        validators=[DataRequired(_l("请输入机构邮箱。")), _domain(services.normalize_email)],
    )
    budget_funded = RadioField(
        _l("本机构的经费是否由财政拨款保障？"),
        choices=[SelectChoice("no", _l("否")), SelectChoice("yes", _l("是"))],
        validators=[InputRequired(_l("请回答本机构是否由财政拨款保障。"))],
        description=_l("依据《政府购买服务管理办法》（财政部令第102号），财政拨款保障的群团组织不能作为承接主体；如实填写，由审核人员判断。"),
    )
    declares_independent_liability = _declaration(_l("本机构具有独立承担民事责任的能力"))
    declares_sound_accounts = _declaration(_l("本机构具有健全的财务会计制度"))
    declares_tax_social_insurance = _declaration(_l("本机构有依法缴纳税收和社会保障资金的良好记录"))
    declares_no_major_violation = _declaration(_l("本机构参加政府购买服务活动前三年内，在经营活动中没有重大违法记录"))

    def set_county_choices(self, counties) -> None:
        """Counties grouped by city, for the select's optgroups."""
        self.county.choices = [SelectChoice("", str(_l("请选择……")))] + [
            SelectChoice(c.code, c.name, optgroup=c.parent.name if c.parent else None) for c in counties
        ]

    def org_data(self, county) -> services.OrgData:
        return services.OrgData(
            name=self.name.data or "",
            credit_code=self.credit_code.data or "",
            org_type=self.org_type.data or "",
            county=county,
            address=self.address.data or "",
            legal_representative=self.legal_representative.data or "",
            contact_person=self.contact_person.data or "",
            phone=self.phone.data or "",
            email=self.email.data or "",
            budget_funded=self.budget_funded.data == "yes",
            mass_org_affiliate=bool(self.mass_org_affiliate.data),
            declares_independent_liability=bool(self.declares_independent_liability.data),
            declares_sound_accounts=bool(self.declares_sound_accounts.data),
            declares_tax_social_insurance=bool(self.declares_tax_social_insurance.data),
            declares_no_major_violation=bool(self.declares_no_major_violation.data),
            id_number=(self.id_number.data or "") if hasattr(self, "id_number") else "",
        )

    def fill_from(self, org) -> None:
        for name in ("name", "credit_code", "address", "legal_representative", "contact_person", "phone", "email"):
            getattr(self, name).data = getattr(org, name)
        self.org_type.data = org.org_type.value
        self.county.data = org.county.code
        self.mass_org_affiliate.data = org.mass_org_affiliate
        self.budget_funded.data = "yes" if org.budget_funded else "no"
        for name in (
            "declares_independent_liability",
            "declares_sound_accounts",
            "declares_tax_social_insurance",
            "declares_no_major_violation",
        ):
            getattr(self, name).data = getattr(org, name)


class RegisterForm(OrganizationForm):
    id_number = StringField(
        _l("居民身份证号码（仅自然人填写）"),
        description=_l("自然人没有统一社会信用代码，请填写本人居民身份证号码：加密保存，只有审核人员能看到部分号码，不会公开。"),
        validators=[Length(max=30)],
    )
    certificate = FileField(
        _l("登记证书或营业执照"),
        description=_l("PDF、JPG 或 PNG，按文件内容检查，不看文件名。"),
    )
    other_document = FileField(_l("其他材料（可选）"), description=_l("如章程、财务报告、纳税和社保证明。"))
    account_name = StringField(_l("您的姓名"), validators=[DataRequired(_l("请输入您的姓名。")), Length(max=100)])
    account_email = EmailField(
        _l("您的登录邮箱"),
        description=_l("注册后会收到确认邮件，确认后才能使用账号。"),
        validators=[DataRequired(_l("请输入登录邮箱。")), _domain(services.normalize_email)],
    )
    account_password = PasswordField(
        _l("登录密码"), validators=[DataRequired(_l("请设置登录密码。")), Length(max=200)]
    )
    account_password2 = PasswordField(
        _l("确认密码"),
        validators=[DataRequired(_l("请再次输入密码。")), EqualTo("account_password", _l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("提交注册"))

    ACCOUNT_FIELDS = ("account_name", "account_email", "account_password", "account_password2")

    def drop_account_fields(self) -> None:
        """For a signed-in user registering their organization."""
        for name in self.ACCOUNT_FIELDS:
            delattr(self, name)


class EditForm(OrganizationForm):
    submit = SubmitField(_l("保存"))


class ResubmitForm(FlaskForm):
    submit = SubmitField(_l("重新提交审核"))


class DocumentForm(FlaskForm):
    kind = SelectField(
        _l("材料类型"),
        choices=[SelectChoice(value, label) for value, label in DOCUMENT_KIND_LABELS.items()],
        validators=[DataRequired(_l("请选择材料类型。"))],
    )
    file = FileField(_l("文件"), description=_l("PDF、JPG 或 PNG。"))
    submit = SubmitField(_l("上传"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("删除"))


class InviteForm(FlaskForm):
    email = EmailField(
        _l("同事的邮箱"), validators=[DataRequired(_l("请输入邮箱。")), _domain(services.normalize_email)]
    )
    as_admin = BooleanField(_l("设为机构管理员（可管理资料和成员）"))
    submit = SubmitField(_l("发送邀请"))


class MemberActionForm(FlaskForm):
    submit = SubmitField(_l("确定"))


class AcceptInvitationForm(FlaskForm):
    """For an invitee without an account: choose a name and a password."""

    name = StringField(_l("您的姓名"), validators=[DataRequired(_l("请输入您的姓名。")), Length(max=100)])
    password = PasswordField(_l("设置密码"), validators=[DataRequired(_l("请设置密码。")), Length(max=200)])
    password2 = PasswordField(
        _l("确认密码"),
        validators=[DataRequired(_l("请再次输入密码。")), EqualTo("password", _l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("接受邀请并创建账号"))


class AcceptAsUserForm(FlaskForm):
    submit = SubmitField(_l("接受邀请"))


class DecisionForm(FlaskForm):
    """Approve (optional note), reject (reason), ask for information (message)."""

    reason = TextAreaField(_l("理由或说明"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("提交"))


class SuspendForm(FlaskForm):
    reason = TextAreaField(
        _l("暂停理由"),
        validators=[DataRequired(_l("请填写暂停理由（如列入失信名单）。")), Length(max=2000)],
    )
    until = DateField(_l("暂停至（含当日）"), validators=[InputRequired(_l("请填写暂停截止日期。"))])
    submit = SubmitField(_l("暂停承接资格"))


class LiftForm(FlaskForm):
    reason = TextAreaField(_l("说明（可选）"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("恢复承接资格"))


class CodeLookupForm(FlaskForm):
    """The officer's "who holds this credit code" search (GET, no CSRF needed)."""

    class Meta:
        csrf = False

    code = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=40)])


class ReleaseCodeForm(FlaskForm):
    reason = TextAreaField(
        _l("释放理由"),
        validators=[DataRequired(_l("请填写释放代码的理由（如核实登记证书后确认不是该机构）。")), Length(max=2000)],
    )
    submit = SubmitField(_l("释放该代码"))
