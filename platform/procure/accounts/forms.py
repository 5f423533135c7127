from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from procure.accounts.passwords import MAX_LENGTH, MIN_LENGTH

_NEW_PASSWORD_HELP = _l("至少 %(n)d 个字符；不要使用常见密码、姓名、生日或邮箱。几个不相关的词语组合既好记又安全。", n=MIN_LENGTH)


class LoginForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(_l("请输入邮箱。")), Email(_l("邮箱格式不正确。"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。"))])
    remember = BooleanField(_l("记住我"))
    submit = SubmitField(_l("登录"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码。"))])
    new_password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请输入新密码。")), Length(max=MAX_LENGTH, message=_l("密码不能超过 %(max)d 个字符。"))],
        description=_NEW_PASSWORD_HELP,
    )
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[DataRequired(_l("请再次输入新密码。")), EqualTo("new_password", _l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("修改密码"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("注册邮箱"), validators=[DataRequired(_l("请输入邮箱。")), Email(_l("邮箱格式不正确。"))])
    submit = SubmitField(_l("发送重置链接"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请输入新密码。")), Length(max=MAX_LENGTH, message=_l("密码不能超过 %(max)d 个字符。"))],
        description=_NEW_PASSWORD_HELP,
    )
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[DataRequired(_l("请再次输入新密码。")), EqualTo("password", _l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("设置新密码"))


class ResendConfirmationForm(FlaskForm):
    submit = SubmitField(_l("重新发送确认邮件"))


class AppointOfficialForm(FlaskForm):
    """The platform admin appoints a county or township officer."""

    email = EmailField(_l("邮箱"), validators=[DataRequired(_l("请输入邮箱。")), Length(max=254)])
    name = StringField(_l("姓名"), validators=[Length(max=100)])
    role = SelectField(
        _l("职务"),
        choices=[SelectChoice("county_officer", _l("县级采购人员（审核本县机构、管理本县目录）")),
                 SelectChoice("township_officer", _l("乡镇人员"))],
    )
    division = StringField(
        _l("行政区划代码"),
        validators=[DataRequired(_l("请填写行政区划代码。")), Length(max=12)],
        description=_l("县级 6 位（如 371321），乡镇 9 位（如 371321101）。"),
    )
    submit = SubmitField(_l("任命并发送邀请邮件"))


class AccountActiveForm(FlaskForm):
    """Enable or disable an account (a button)."""

    submit = SubmitField(_l("确定"))
