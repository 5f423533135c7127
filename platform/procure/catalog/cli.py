"""``flask catalog import COUNTY_CODE YEAR FILE [--publish]``: bulk loading by admins.

Creates (or replaces the contents of) the draft of that county and year with the
parser and checks of the import page, prints the same report and exits non-zero
when nothing was imported.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from procure.catalog import services, xlsx
from procure.errors import DomainError
from procure.extensions import db
from procure.geo import queries as geo_queries

catalog_cli = AppGroup("catalog", help="Guiding catalogs.")


@catalog_cli.command("import")
@click.argument("county_code")
@click.argument("year", type=int)
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish the draft once imported.")
def import_command(county_code: str, year: int, path: Path, publish: bool) -> None:
    """Import FILE (.xlsx) as the draft catalog of COUNTY_CODE for YEAR."""
    county = geo_queries.county_by_code(db.session, county_code)
    if county is None:
        raise click.ClickException(f"no county with code {county_code}")
    max_rows = current_app.config["CATALOG_IMPORT_MAX_ROWS"]
    try:
        catalog = services.draft_of_year(db.session, county=county, year=year, user=None)
        report = xlsx.import_catalog(db.session, catalog, path.read_bytes(), max_rows=max_rows)
        previous = services.publish(db.session, catalog, None) if publish else None
    except xlsx.ImportFailed as failed:
        db.session.rollback()
        click.echo(str(failed.message), err=True)
        for problem in failed.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"{county.name} {year}, version {catalog.version} ({catalog.status.value}): "
               f"{report.items} items, {report.categories} categories "
               f"(levels {report.levels[0]}/{report.levels[1]}/{report.levels[2]})")
    for message in report.skipped_messages():
        click.echo(f"  {message}")
    if report.notes:
        click.echo(f"  notes: {len(report.notes.splitlines())} lines kept as the catalog's notes")
    if previous is not None:
        click.echo(f"  version {previous.version} superseded")
