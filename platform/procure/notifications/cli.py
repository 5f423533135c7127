"""``flask notifications …``: check the mail set-up, deliver what is waiting."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from procure.extensions import db
from procure.notifications import services
from procure.timeutil import utcnow

notifications_cli = AppGroup("notifications", help="Notifications and their emails.")


@notifications_cli.command("send-test")
@click.argument("email")
def send_test(email: str) -> None:
    """Send the sample email (templates/email/test_message) to EMAIL."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S.%f")
    notification = services.notify(
        db.session,
        event_key=f"test_message:{stamp}",
        template="test_message",
        context={"title": stamp, "message": "SMTP OK"},
        email=email,
        link="/",
    )
    db.session.commit()  # delivered per EMAIL_DELIVERY after the commit
    click.echo(f"notification {notification.id} to {notification.recipient_email}: {current_app.config['EMAIL_DELIVERY']}")


@notifications_cli.command("deliver-pending")
def deliver_pending() -> None:
    """Send, in this process, every email the outbox sweep would hand on now."""
    ids = services.due_for_delivery(db.session)
    db.session.rollback()
    outcomes: dict[str, int] = {}
    for notification_id in ids:
        outcome = services.deliver(db.session, notification_id)
        db.session.commit()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    click.echo(f"{len(ids)} due: {outcomes or 'nothing to do'}")
