"""``flask tenders advance``: run the time-driven transitions once."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from procure.clock import db_now
from procure.extensions import db
from procure.tenders import services

tenders_cli = AppGroup("tenders", help="Tenders.")


def run_advance() -> dict[int, str]:
    """Advance every due tender by the database clock, and commit."""
    results = services.advance_due(db.session, now=db_now(db.session), keys=current_app.config["SEAL_KEYS"])
    db.session.commit()
    return results


@tenders_cli.command("advance")
def advance() -> None:
    """Open the tenders whose bid deadline has passed (idempotent)."""
    results = run_advance()
    if not results:
        click.echo("nothing due")
    for tender_id, status in sorted(results.items()):
        click.echo(f"tender {tender_id}: {status}")
