"""``flask geo import FILE.csv``."""
from pathlib import Path

import click
from flask.cli import AppGroup

from procure.errors import DomainError
from procure.extensions import db
from procure.geo import services

geo_cli = AppGroup("geo", help="Administrative divisions.")


@geo_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Load or update divisions from a CSV (level,code,name,parent_code)."""
    try:
        result = services.import_divisions(db.session, path.read_text(encoding="utf-8"))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"divisions: {result.added} added, {result.updated} updated, {result.unchanged} unchanged")
