"""The opening (开标), run by ``tenders.services.advance_due`` on a tender
locked FOR UPDATE once its bid deadline has passed: decrypt every counted
bid, verify its digest (and its attachments'), write the opening record,
then publish it (enough bids) or declare the tender failed (流标).

A bid whose digest does not match, or whose sealed data does not open,
halts that tender's opening (status ``halted``) with a loud error for the
platform admins; the other tenders go on.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from decimal import Decimal
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from procure import sealing
from procure.accounts.models import Role, RoleAssignment, User
from procure.bids.models import Bid, BidStatus, BidVersion, OpeningRecord
from procure.notifications.services import notify
from procure.tenders.models import Tender, TenderStatus

log = logging.getLogger(__name__)


class IntegrityProblem(Exception):
    pass


def counted_bids(session: Session, tender: Tender) -> list[tuple[Bid, BidVersion]]:
    """Submitted bids whose latest version counts: submitted or confirmed
    after the latest amendment."""
    rows = session.execute(
        select(Bid, BidVersion).join(BidVersion, BidVersion.id == Bid.current_version_id)
        .where(Bid.tender_id == tender.id, Bid.status == BidStatus.SUBMITTED)
        .order_by(BidVersion.submitted_at, Bid.id)
    ).all()
    return [(bid, version) for bid, version in rows if bid.confirmed_amendments >= tender.amendment_count]


def verify(session: Session, bid: Bid, version: BidVersion, keys: Mapping[str, bytes]) -> dict:
    """The version's payload, after checking its digest and every attachment."""
    from procure.bids.services import _file_aad, _version_aad, canonical

    try:
        body = sealing.unseal(version.sealed, aad=_version_aad(bid.id, version.number), keys=keys)
    except sealing.SealError as exc:
        raise IntegrityProblem(f"bid {bid.id} version {version.number}: {exc}") from None
    if hashlib.sha256(body).hexdigest() != version.digest:
        raise IntegrityProblem(f"bid {bid.id} version {version.number}: digest mismatch")
    payload = json.loads(body)
    if canonical(payload) != body:
        raise IntegrityProblem(f"bid {bid.id} version {version.number}: not in canonical form")
    from procure.bids.models import BidFile

    for attachment in payload["attachments"]:
        row = session.get(BidFile, attachment["file_id"])
        if row is None or row.bid_id != bid.id:
            raise IntegrityProblem(f"bid {bid.id}: attachment {attachment['file_id']} missing")
        try:
            plain = sealing.unseal(row.sealed, aad=_file_aad(bid.id, row.id), keys=keys)
        except sealing.SealError as exc:
            raise IntegrityProblem(f"bid {bid.id} attachment {row.id}: {exc}") from None
        data = plain.partition(b"\n")[2]
        if hashlib.sha256(data).hexdigest() != attachment["sha256"]:
            raise IntegrityProblem(f"bid {bid.id} attachment {row.id}: digest mismatch")
    return payload


def open_bids(session: Session, tender: Tender, *, now: datetime, keys: Mapping[str, bytes]) -> TenderStatus:
    """Open one tender (already locked by the caller). Flushes."""
    if tender.status != TenderStatus.TENDERING:
        return tender.status
    entries = []
    try:
        with session.begin_nested():
            for bid, version in counted_bids(session, tender):
                payload = verify(session, bid, version, keys)
                entry = OpeningRecord(tender_id=tender.id, bid_id=bid.id, organization_name=bid.organization.name,
                                      price=Decimal(payload["price"]), digest=version.digest,
                                      submitted_at=version.submitted_at)
                session.add(entry)
                entries.append(entry)
            session.flush()
    except IntegrityProblem as exc:
        tender.status = TenderStatus.HALTED
        tender.halt_reason = str(exc)
        tender.next_due_at = None
        session.flush()
        log.error("INTEGRITY ERROR: opening of tender %s (%s) halted: %s", tender.id, tender.public_number, exc)
        _tell_admins(session, tender)
        return tender.status
    tender.opened_at = now
    tender.next_due_at = None
    tender.status = TenderStatus.OPENED if len(entries) >= tender.min_bids else TenderStatus.FAILED
    session.flush()
    _tell_bidders_opened(session, tender)
    return tender.status


def _tell_admins(session: Session, tender: Tender) -> None:
    admins = session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.PLATFORM_ADMIN)
    ).unique().all()
    for admin in admins:
        notify(session, event_key=f"tender:{tender.id}:halted:user:{admin.id}", template="opening_halted",
               recipient=admin, context={"tender_title": tender.title, "public_number": tender.public_number,
                                         "reason": tender.halt_reason}, link=f"/tenders/{tender.id}")


def _tell_bidders_opened(session: Session, tender: Tender) -> None:
    from procure.tenders.services import _tell_bidders

    _tell_bidders(session, tender, f"tender:{tender.id}:opened", "tender_opened",
                  {"failed": tender.status == TenderStatus.FAILED})
