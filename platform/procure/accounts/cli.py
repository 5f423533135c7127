"""``flask users create-officer``, ``create-township-officer``, ``create-admin``,
``disable`` and ``enable``.

Accounts made here are created by an administrator, so their emails count as
confirmed."""
import click
from flask.cli import AppGroup

from procure.accounts import services
from procure.accounts.models import Role
from procure.errors import DomainError
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.geo.models import DivisionLevel

users_cli = AppGroup("users", help="User accounts.")


def _create(email: str, password: str, name: str, role: Role, division=None):
    try:
        user = services.create_user(db.session, email=email, password=password, name=name, confirmed=True)
        services.grant_role(db.session, user, role, division)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    return user


@users_cli.command("create-officer")
@click.option("--county", "county_code", required=True, help="County division code, e.g. 371321.")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.password_option()
def create_officer(county_code: str, email: str, name: str, password: str) -> None:
    """Create a county procurement officer bound to one county."""
    county = geo_queries.county_by_code(db.session, county_code)
    if county is None:
        raise click.ClickException(f"no county with code {county_code}; run 'flask geo import' first")
    _create(email, password, name, Role.COUNTY_OFFICER, county)
    click.echo(f"county officer {email} created for {county.name} ({county.code})")


@users_cli.command("create-township-officer")
@click.option("--township", "township_code", required=True, help="Township division code, e.g. 371321100.")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.password_option()
def create_township_officer(township_code: str, email: str, name: str, password: str) -> None:
    """Create a township officer bound to one township (within its county)."""
    township = geo_queries.by_code(db.session, township_code)
    if township is None or township.level != DivisionLevel.TOWNSHIP:
        raise click.ClickException(f"no township with code {township_code}; run 'flask geo import' first")
    _create(email, password, name, Role.TOWNSHIP_OFFICER, township)
    click.echo(f"township officer {email} created for {township.name} ({township.code})")


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create a platform administrator."""
    _create(email, password, name, Role.PLATFORM_ADMIN)
    click.echo(f"platform admin {email} created")


def _user(email: str):
    from procure.accounts import queries

    user = queries.by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"no account with email {email}")
    return user


@users_cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable an account: it cannot sign in, and every browser signed in as it is signed out."""
    services.disable_user(db.session, _user(email))
    db.session.commit()
    click.echo(f"{email} disabled; its sessions are revoked")


@users_cli.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Re-enable a disabled account (it signs in again with its password)."""
    services.enable_user(db.session, _user(email))
    db.session.commit()
    click.echo(f"{email} enabled")
