"""Sealed bids: drafts, submission (with a receipt), revision, withdrawal,
confirmation after an amendment.

The deadline is enforced with the database server's clock inside the
submitting transaction, after taking a shared lock on the tender row: the
opening takes an exclusive lock on that row, so a submission accepted before
the deadline is committed before the opening reads the bids (never lost),
and one checked after it is refused (``procure.clock`` for SQLite).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from procure import sealing
from procure.accounts.models import Role, RoleAssignment, User
from procure.bids import files
from procure.bids.models import Bid, BidFile, BidStatus, BidVersion, VersionKind
from procure.clock import db_now, is_postgresql
from procure.errors import DomainError
from procure.notifications.services import Recipient, notify_users
from procure.organizations.models import UNDERTAKER_TYPE, Organization
from procure.organizations.services import bid_eligibility
from procure.tenders import services as tender_services
from procure.tenders.models import Tender, TenderStatus
from procure.timeutil import as_utc, localtime, utcnow

log = logging.getLogger(__name__)

TEXT_MAX = 50000
DECLARATIONS = ("qualified", "no_collusion", "accepts_terms")


@dataclass(frozen=True)
class Sealer:
    """The keys from configuration: all of them open, ``key_id`` seals."""

    keys: Mapping[str, bytes]
    key_id: str
    timezone: str = "Asia/Shanghai"  # for the local date of eligibility checks

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sealer:
        return cls(keys=config["SEAL_KEYS"], key_id=config["SEAL_KEY_ID"], timezone=config["TIMEZONE"])

    def seal(self, data: bytes, aad: str) -> bytes:
        return sealing.seal(data, aad=aad, keys=self.keys, key_id=self.key_id)

    def unseal(self, blob: bytes, aad: str) -> bytes:
        return sealing.unseal(blob, aad=aad, keys=self.keys)


@dataclass
class BidContent:
    price: Decimal | None = None
    technical: str = ""  # technical and service proposal
    team: str = ""
    declarations: dict[str, bool] = field(default_factory=dict)
    file_ids: list[int] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps({
            "price": str(self.price) if self.price is not None else None, "technical": self.technical,
            "team": self.team, "declarations": self.declarations, "file_ids": self.file_ids,
        }, ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> BidContent:
        raw = json.loads(data)
        return cls(price=Decimal(raw["price"]) if raw.get("price") else None, technical=raw.get("technical", ""),
                   team=raw.get("team", ""), declarations=raw.get("declarations", {}),
                   file_ids=list(raw.get("file_ids", [])))


@dataclass(frozen=True)
class Receipt:
    bid_id: int
    version: int
    submitted_at: datetime
    digest: str


class DeadlinePassed(DomainError):
    pass


# --- eligibility ------------------------------------------------------------------


def may_bid(tender: Tender, organization: Organization | None, *, today: date) -> tuple[bool, Any]:
    """Whether the organization may bid on the tender: eligible, verified, not
    suspended, of one of the tender's undertaker types, of its county."""
    ok, reason = bid_eligibility(organization, today=today)
    if not ok:
        return False, reason
    if organization.county_id != tender.county_id:
        return False, _l("本项目只接受本县机构投标。")
    if UNDERTAKER_TYPE.get(organization.org_type.value) not in tender.undertaker_types:
        return False, _l("本机构的类型不在本项目的承接主体类型范围内。")
    return True, ""


def _draft_aad(bid: Bid) -> str:
    return f"bid:{bid.id}:draft"


def _version_aad(bid_id: int, number: int) -> str:
    return f"bid:{bid_id}:version:{number}"


def _file_aad(bid_id: int, file_id: int) -> str:
    return f"bid:{bid_id}:file:{file_id}"


def get_or_create(session: Session, tender: Tender, organization: Organization, *, today: date) -> Bid:
    bid = session.scalar(select(Bid).where(Bid.tender_id == tender.id, Bid.organization_id == organization.id))
    if bid is None:
        ok, reason = may_bid(tender, organization, today=today)
        if not ok:
            raise DomainError(reason)
        bid = Bid(tender_id=tender.id, organization=organization, status=BidStatus.DRAFT)
        session.add(bid)
        session.flush()
    return bid


def read_draft(bid: Bid, sealer: Sealer) -> BidContent:
    if bid.draft_sealed is None:
        return BidContent()
    return BidContent.from_json(sealer.unseal(bid.draft_sealed, _draft_aad(bid)))


def save_draft(session: Session, bid: Bid, content: BidContent, *, sealer: Sealer) -> Bid:
    tender = session.get(Tender, bid.tender_id)
    if tender.status != TenderStatus.TENDERING:
        raise DomainError(_l("该项目已不接受投标。"))
    bid.draft_sealed = _sealed_draft(session, bid, content, sealer)
    session.flush()
    return bid


def _sealed_draft(session: Session, bid: Bid, content: BidContent, sealer: Sealer) -> bytes:
    """``content`` checked (price, lengths, attachments of this bid) and sealed as the bid's draft."""
    if content.price is not None:
        content.price = tender_services.parse_money(content.price, field_name="price")
    if len(content.technical) > TEXT_MAX or len(content.team) > TEXT_MAX:
        raise DomainError(_l("内容过长。"), field="technical")
    owned = set(session.scalars(select(BidFile.id).where(BidFile.bid_id == bid.id))) if content.file_ids else set()
    if not set(content.file_ids) <= owned:
        raise DomainError(_l("附件不存在。"), field="file")
    return sealer.seal(content.to_json(), _draft_aad(bid))


def add_file(session: Session, bid: Bid, *, filename: str, data: bytes, max_bytes: int, max_count: int,
             limits: files.ArchiveLimits, sealer: Sealer) -> BidFile:
    """Check an attachment by its content and store it sealed (its name too).
    It joins the draft."""
    from procure.organizations.documents import clean_original_name

    checked = files.check(data, max_bytes=max_bytes, limits=limits)
    content = read_draft(bid, sealer)
    if len(content.file_ids) >= max_count:
        raise DomainError(_l("附件最多 %(n)d 个。", n=max_count), field="file")
    row = BidFile(bid_id=bid.id, sealed=b"")
    session.add(row)
    session.flush()
    header = json.dumps({"name": clean_original_name(filename), "content_type": checked.content_type,
                         "size": checked.size, "sha256": checked.sha256}, ensure_ascii=False).encode()
    row.sealed = sealer.seal(header + b"\n" + data, _file_aad(bid.id, row.id))
    content.file_ids.append(row.id)
    save_draft(session, bid, content, sealer=sealer)
    return row


def remove_file(session: Session, bid: Bid, file_id: int, *, sealer: Sealer) -> None:
    """Take a file off the draft (kept: submitted versions may refer to it)."""
    content = read_draft(bid, sealer)
    if file_id not in content.file_ids:
        raise DomainError(_l("附件不存在。"), field="file")
    content.file_ids.remove(file_id)
    save_draft(session, bid, content, sealer=sealer)


def read_file(session: Session, bid_id: int, file_id: int, sealer: Sealer) -> tuple[dict, bytes]:
    row = session.get(BidFile, file_id)
    if row is None or row.bid_id != bid_id:
        raise DomainError(_l("附件不存在。"))
    plain = sealer.unseal(row.sealed, _file_aad(bid_id, file_id))
    header, _, data = plain.partition(b"\n")
    return json.loads(header), data


# --- canonical serialisation and digest ----------------------------------------------


def canonical(payload: dict) -> bytes:
    """The canonical serialisation: JSON, keys sorted, no whitespace, UTF-8."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def build_payload(session: Session, tender: Tender, bid: Bid, content: BidContent, sealer: Sealer) -> dict:
    attachments = []
    for file_id in content.file_ids:
        meta, data = read_file(session, bid.id, file_id, sealer)
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise sealing.SealError(f"bid file {file_id}: content does not match its digest")
        attachments.append({"file_id": file_id, "name": meta["name"], "content_type": meta["content_type"],
                            "size": meta["size"], "sha256": meta["sha256"]})
    return {
        "tender": tender.public_number, "bid": bid.id,
        "organization": {"name": bid.organization.name, "credit_code": bid.organization.credit_code},
        "price": str(content.price), "technical": content.technical, "team": content.team,
        "declarations": {k: bool(content.declarations.get(k)) for k in DECLARATIONS},
        "attachments": attachments,
    }


def digest(payload: dict) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


# --- submitting ------------------------------------------------------------------------


@functools.cache
def _statements() -> SimpleNamespace:
    """The statements of a submission, built once with bound parameters:
    building a statement (and its cache key) each time costs more Python than
    the round trip it makes."""
    bids, versions = Bid.__table__, BidVersion.__table__
    last = (select(func.coalesce(func.max(versions.c.number), 0)).where(versions.c.bid_id == bindparam("bid_id"))
            .scalar_subquery())
    save_draft = bids.update().where(bids.c.id == bindparam("bid_id")).values(
        draft_sealed=bindparam("new_draft"), updated_at=bindparam("new_updated_at"))
    values = {column: bindparam(name, type_=versions.c[column].type) for column, name in (
        ("bid_id", "bid_id"), ("number", "v_number"), ("kind", "v_kind"), ("submitted_at", "v_submitted_at"),
        ("digest", "v_digest"), ("sealed", "v_sealed"), ("submitted_by_id", "v_user_id"))}
    insert_version = versions.insert().values(**values)
    mark_submitted = bids.update().where(bids.c.id == bindparam("bid_id")).values(
        status=bindparam("new_status"), confirmed_amendments=bindparam("new_confirmed"),
        updated_at=bindparam("new_updated_at"))
    # Inserted only if its number is still the next one, as this statement (a
    # new snapshot, taken while the bid's row lock is held) sees the versions.
    checked = select(*[v.label(k) for k, v in values.items()]).where(last == values["number"] - 1)
    version = versions.insert().from_select(list(values), checked).returning(versions.c.id).cte("version")
    # What a submission reads of the tender, under its shared lock (a plain
    # row, not the Tender with its joined county, township and item). Of the
    # table, not the mapped class: an UPDATE that names the Tender class
    # would count as a change of the public tenders (procure.caching would
    # raise their generation, i.e. every public tender page would change at
    # each submission, for all to see).
    tenders = Tender.__table__
    lock_tender = (select(tenders.c.id, tenders.c.status, tenders.c.bid_deadline, tenders.c.max_price,
                          tenders.c.amendment_count, tenders.c.county_id, tenders.c.undertaker_types, tenders.c.title,
                          tenders.c.public_number)
                   .where(tenders.c.id == bindparam("locked_tender_id")).with_for_update(read=True))
    locked = lock_tender.cte("locked_tender")
    return SimpleNamespace(
        lock_tender=lock_tender,
        lock_bid=select(last, func.clock_timestamp()).select_from(bids).where(bids.c.id == bindparam("bid_id"))
        .with_for_update(of=bids),
        last_number=select(last),
        save_draft=save_draft,
        # PostgreSQL, in one statement: the tender's shared lock (the CTE's
        # row, as it is once locked), then the bid's row lock by the UPDATE
        # that stores the draft; RETURNING, computed once both are held, gives
        # the tender, the last number and the clock.
        lock_and_save_draft=save_draft.where(bids.c.tender_id == locked.c.id).returning(
            *locked.c, last.label("last_number"), func.clock_timestamp().label("now")),
        insert_version=insert_version.returning(versions.c.id),
        mark_submitted=mark_submitted.values(current_version_id=bindparam("new_version_id")),
        # PostgreSQL: the version and the bid's pointer to it in one statement
        # (no row when the number was taken meanwhile).
        store_version=mark_submitted.values(current_version_id=select(version.c.id).scalar_subquery())
        .where(select(version.c.id).exists()).add_cte(version).returning(bids.c.current_version_id),
        members=select(User.id, User.email, User.name, User.locale)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.organization_id == bindparam("organization_id"),
               RoleAssignment.role.in_([Role.ORG_ADMIN, Role.ORG_MEMBER]))
        .distinct().order_by(User.id),
    )


def _lock_for_bidding(session: Session, bid: Bid, *, draft: bytes | None = None,
                      exact: bool = True) -> tuple[Any, datetime, int]:
    """Shared lock on the tender (statement 1); then an exclusive lock on the
    bid with its next version number and the database clock (statement 2,
    evaluated while the tender lock is held, so the opening, which needs an
    exclusive lock on the tender, cannot come between this check and the
    commit). With ``draft`` (sealed), the UPDATE that stores it as the bid's
    draft takes the bid's lock, and on PostgreSQL both locks are taken by one
    statement (``lock_and_save_draft``) whose RETURNING, computed after both,
    reads the clock. Returns the tender's row (``_statements().lock_tender``),
    the DB time and the next version number.

    The number read by statement 2 comes from the snapshot that statement
    took before it waited for the bid's lock: a version another member of
    the organization committed meanwhile is missing from it. ``exact`` reads
    it again once the lock is held (statement 3); ``submit`` instead checks
    it in the statement that inserts the version."""
    q = _statements()
    postgresql = is_postgresql(session)
    if draft is not None:
        params = {"locked_tender_id": bid.tender_id, "bid_id": bid.id, "new_draft": draft,
                  "new_updated_at": utcnow()}
        if postgresql:
            tender = session.execute(q.lock_and_save_draft, params).one()
            last_number, now = tender.last_number, tender.now
        else:
            tender = session.execute(q.lock_tender, params).one()
            session.execute(q.save_draft, params)
        set_committed_value(bid, "draft_sealed", draft)
        set_committed_value(bid, "updated_at", params["new_updated_at"])
        if tender.status != TenderStatus.TENDERING:  # the draft's UPDATE is rolled back with the rest
            raise DomainError(_l("该项目已不接受投标。"))  # as saving the draft alone says
    else:
        tender = session.execute(q.lock_tender, {"locked_tender_id": bid.tender_id}).one()
        if tender.status != TenderStatus.TENDERING:
            raise DeadlinePassed(_l("投标已截止，该项目已不接受投标。"))
        if postgresql:
            last_number, now = session.execute(q.lock_bid, {"bid_id": bid.id}).one()
    if not postgresql:
        last_number, now = session.scalar(q.last_number, {"bid_id": bid.id}), db_now(session)
    elif exact:
        last_number = session.scalar(q.last_number, {"bid_id": bid.id})
    now = as_utc(now)
    if now >= as_utc(tender.bid_deadline):
        raise DeadlinePassed(_l("投标已于 %(deadline)s 截止，提交未被接受。",
                                deadline=localtime(tender.bid_deadline).strftime("%Y-%m-%d %H:%M:%S")))
    return tender, now, last_number + 1


def submit(session: Session, bid: Bid, *, user: User, sealer: Sealer, content: BidContent | None = None) -> Receipt:
    """Submit (or revise) the bid from its draft: a new sealed version with its
    receipt. Only the latest submitted version counts. With ``content``, that
    content is saved as the draft (checked as ``save_draft`` does) and
    submitted in the same pass: the UPDATE that stores the draft is the one
    that locks the bid and reads the clock."""
    draft = _sealed_draft(session, bid, content, sealer) if content is not None else None
    tender, now, number = _lock_for_bidding(session, bid, draft=draft, exact=False)
    ok, reason = may_bid(tender, bid.organization, today=localtime(now, sealer.timezone).date())
    if not ok:
        raise DomainError(reason)
    if content is None:
        content = read_draft(bid, sealer)
    if content.price is None:
        raise DomainError(_l("请填写投标报价。"), field="price")
    if tender.max_price is not None and content.price > tender.max_price:
        raise DomainError(_l("投标报价不能高于最高限价。"), field="price")
    if not content.technical.strip():
        raise DomainError(_l("请填写技术和服务方案。"), field="technical")
    if not all(content.declarations.get(k) for k in DECLARATIONS):
        raise DomainError(_l("必须确认全部声明才能提交。"), field="declarations")
    payload = build_payload(session, tender, bid, content, sealer)
    body = canonical(payload)
    version_digest = hashlib.sha256(body).hexdigest()
    params = {"bid_id": bid.id, "v_number": number, "v_kind": VersionKind.SUBMISSION, "v_submitted_at": now,
              "v_digest": version_digest, "v_sealed": sealer.seal(body, _version_aad(bid.id, number)),
              "v_user_id": user.id, "new_status": BidStatus.SUBMITTED,
              "new_confirmed": tender.amendment_count, "new_updated_at": utcnow()}
    q = _statements()
    if is_postgresql(session):
        version_id = session.execute(q.store_version, params).scalar()
        if version_id is None:
            # Another member's submission of this bid was committed while this
            # one waited for the bid's lock (held now): the next number, sealed again.
            number = session.scalar(q.last_number, {"bid_id": bid.id}) + 1
            params.update(v_number=number, v_sealed=sealer.seal(body, _version_aad(bid.id, number)))
            version_id = session.execute(q.store_version, params).scalar_one()
    else:
        version_id = session.execute(q.insert_version, params).scalar_one()
        session.execute(q.mark_submitted, {**params, "new_version_id": version_id})
    for name, value in (("status", BidStatus.SUBMITTED), ("current_version_id", version_id),
                        ("confirmed_amendments", tender.amendment_count), ("updated_at", params["new_updated_at"])):
        set_committed_value(bid, name, value)  # as stored (no flush would write them again)
    receipt = Receipt(bid.id, number, now, version_digest)
    _send_receipt(session, tender, bid, receipt, kind="bid_receipt")
    return receipt


def confirm(session: Session, bid: Bid, *, user: User) -> Receipt:
    """Confirm the submitted bid as it is, after an amendment."""
    tender, now, number = _lock_for_bidding(session, bid)
    if bid.status != BidStatus.SUBMITTED or bid.current_version_id is None:
        raise DomainError(_l("没有已提交的投标可确认。"))
    current = session.get(BidVersion, bid.current_version_id)
    session.add(BidVersion(bid_id=bid.id, number=number, kind=VersionKind.CONFIRMATION, submitted_at=now,
                           digest=current.digest, sealed=None, submitted_by_id=user.id))
    bid.confirmed_amendments = tender.amendment_count
    session.flush()
    return Receipt(bid.id, current.number, current.submitted_at, current.digest)


def withdraw(session: Session, bid: Bid, *, user: User) -> None:
    tender, now, number = _lock_for_bidding(session, bid)
    if bid.status != BidStatus.SUBMITTED:
        raise DomainError(_l("没有已提交的投标可撤回。"))
    session.add(BidVersion(bid_id=bid.id, number=number, kind=VersionKind.WITHDRAWAL, submitted_at=now,
                           digest="", sealed=None, submitted_by_id=user.id))
    bid.status = BidStatus.WITHDRAWN
    bid.current_version_id = None
    session.flush()


def _member_recipients(session: Session, organization_id: int) -> list[Recipient]:
    """Who gets a receipt: every admin and member of the organization (plain values)."""
    rows = session.execute(_statements().members, {"organization_id": organization_id}).all()
    return [Recipient(user_id=r.id, email=r.email, name=r.name or "", locale=r.locale) for r in rows]


def _send_receipt(session: Session, tender: Any, bid: Bid, receipt: Receipt, *, kind: str) -> None:
    """The receipt to every member of the organization: time and digest, never
    the price or content (the outbox rows are in the database, written in
    one statement, rendered when first read: ``notify_users``)."""
    context = {"tender_title": tender.title, "public_number": tender.public_number, "version": receipt.version,
               "digest": receipt.digest,
               "submitted_at": localtime(receipt.submitted_at).strftime("%Y-%m-%d %H:%M:%S")}
    notify_users(session, template=kind, context=context, link=f"/bids/{bid.id}", recipients=[
        (f"bid:{bid.id}:v{receipt.version}:user:{member.user_id}", member)
        for member in _member_recipients(session, bid.organization_id)])
