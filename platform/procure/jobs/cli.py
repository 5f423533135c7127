"""``flask jobs list`` / ``flask jobs run NAME [--dry-run] [--now ISO-TIME]``."""
from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from procure import jobs
from procure.extensions import db
from procure.timeutil import as_utc, utcnow

jobs_cli = AppGroup("jobs", help="Periodic jobs, run once (what beat runs).")


@jobs_cli.command("list")
def list_jobs() -> None:
    """Every beat job and what it does."""
    for job in jobs.JOBS.values():
        click.echo(f"{job.name:20} {job.description}")


def _parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO time: {value!r}") from exc
    if parsed.tzinfo is None:  # local time of the platform's zone
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    return as_utc(parsed)


@jobs_cli.command("run")
@click.argument("name", type=click.Choice(sorted(jobs.JOBS)))
@click.option("--dry-run", is_flag=True, help="Print what would be sent or changed; change nothing.")
@click.option("--now", "now_text", metavar="ISO-TIME", help="Run as if it were this time (default: now).")
def run(name: str, dry_run: bool, now_text: str | None) -> None:
    """Run the beat job NAME once, in this process."""
    now = _parse_now(now_text)
    click.echo(f"{name} at {now.isoformat()}{' (dry run: nothing is written or sent)' if dry_run else ''}")
    for line in jobs.run(name, db.session, now=now, config=current_app.config, dry_run=dry_run):
        click.echo(line)
