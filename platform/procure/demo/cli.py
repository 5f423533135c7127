"""``flask demo load``: the demo data of ``make run`` (loaded once, idempotent)."""
import click
from flask.cli import AppGroup

from procure.demo import services
from procure.extensions import db

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load_command() -> None:
    """Load the demo data unless it is already there."""
    report = services.load_demo(db.session)
    db.session.commit()
    for line in report:
        click.echo(line)
