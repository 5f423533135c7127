import pytest

from procure.accounts import passwords, services
from procure.accounts.models import User
from procure.errors import DomainError
from tests import factories


@pytest.mark.parametrize(
    "password, expected",
    [
        ("short1!", "至少需要 10 个字符"),
        ("1234567890", "最常见的密码"),  # in zxcvbn's leaked-password list
        ("qwertyuiop", "最常见的密码"),
        ("iloveyou12", "最常见的密码"),
        ("woaini1314", "太容易被猜到"),  # pinyin classic, not in the list
        ("aaaaaaaaaaaa", "太容易被猜到"),  # repeat
        ("poiuytrewq12", "太容易被猜到"),  # keyboard walk
        ("linyi123456", "太容易被猜到"),  # place name + sequence
        ("x" * 201, "不能超过 200 个字符"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, password, expected):
    with app.test_request_context():
        assert expected in str(passwords.weakness(password))


def test_password_made_of_the_users_email_is_refused(app):
    with app.test_request_context():
        assert passwords.weakness("zhangsan.sw2026", []) is None
        assert "太容易被猜到" in str(passwords.weakness("zhangsan.sw2026", ["zhangsan.sw2026@example.com"]))


@pytest.mark.parametrize("password", [factories.PASSWORD, "yinan-shegong-2026", "绿水青山就是金山银山2026"])
def test_good_passwords_pass(app, password):
    with app.test_request_context():
        assert passwords.weakness(password) is None


def test_create_user_refuses_common_password_and_stores_nothing(session):
    with pytest.raises(DomainError) as info:
        services.create_user(session, email="new@example.com", password="password123")
    assert info.value.field == "password"
    assert "常见" in str(info.value.message)
    session.rollback()
    assert session.query(User).count() == 0


def test_passwords_are_hashed_with_scrypt(session):
    user = factories.user(email="h@example.com")
    assert user.password_hash.startswith("scrypt:")
    assert factories.PASSWORD not in user.password_hash
    assert passwords.verify_password(user.password_hash, factories.PASSWORD)


def test_create_user_confirmed_flag(session):
    pending = services.create_user(session, email="a@example.com", password=factories.PASSWORD)
    confirmed = services.create_user(session, email="b@example.com", password=factories.PASSWORD, confirmed=True)
    assert pending.email_confirmed_at is None
    assert confirmed.email_confirmed_at is not None
