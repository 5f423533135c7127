"""``flask users create-officer`` and ``flask users create-admin``."""
import click
from flask.cli import AppGroup

from procure.accounts import services
from procure.accounts.models import Role
from procure.errors import DomainError
from procure.extensions import db
from procure.geo import queries as geo_queries

users_cli = AppGroup("users", help="User accounts.")


def _create(email: str, password: str, name: str, role: Role, division=None):
    try:
        user = services.create_user(db.session, email=email, password=password, name=name)
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


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create a platform administrator."""
    _create(email, password, name, Role.PLATFORM_ADMIN)
    click.echo(f"platform admin {email} created")
