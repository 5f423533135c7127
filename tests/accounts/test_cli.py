from procure import policy
from procure.accounts.models import Role, User
from tests import factories


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["users", *args, "--password", factories.PASSWORD])


def test_create_township_officer(app, session):
    result = _run(app, "create-township-officer", "--township", "371321101", "--email", "T@Example.com", "--name", "岸堤镇")
    assert result.exit_code == 0, result.output
    assert "岸堤镇" in result.output
    user = session.query(User).filter_by(email="t@example.com").one()
    (assignment,) = user.roles
    assert assignment.role == Role.TOWNSHIP_OFFICER and assignment.division.code == "371321101"
    assert not policy.is_officer(user) and not policy.is_admin(user)


def test_create_township_officer_refuses_a_county_code_and_creates_nothing(app, session):
    result = _run(app, "create-township-officer", "--township", "371321", "--email", "t@example.com")
    assert result.exit_code != 0 and "no township with code 371321" in result.output
    assert session.query(User).count() == 0


def test_create_officer_refuses_a_weak_password(app, session):
    result = app.test_cli_runner().invoke(
        args=["users", "create-officer", "--county", "371321", "--email", "c@example.com", "--password", "qwerty123456"]
    )
    assert result.exit_code != 0 and "最常见的密码" in result.output
    assert session.query(User).count() == 0


def test_unconfirmed_user_has_no_permissions(session):
    pending = factories.user(Role.PLATFORM_ADMIN, confirmed=False)
    assert not policy.is_admin(pending)
    assert policy.is_admin(factories.admin())
