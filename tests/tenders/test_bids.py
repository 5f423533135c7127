"""Sealed bids: drafts, submission, revision, withdrawal, receipts, sealing at
rest, the deadline by the database clock, the opening and its integrity."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
import threading
import time
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update

from procure import sealing
from procure.bids import services as bids
from procure.bids.models import Bid, BidStatus, BidVersion, OpeningRecord, VersionKind
from procure.clock import db_now
from procure.errors import DomainError
from procure.extensions import db
from procure.notifications.models import Notification
from procure.tenders import services as tenders
from procure.tenders.cli import run_advance
from procure.tenders.models import Tender, TenderStatus
from procure.timeutil import as_utc, utcnow
from tests import factories
from tests.tenders import builders as b


def _advance():
    return run_advance()


def test_draft_submit_revise_withdraw_keep_every_version(session):
    tender = b.published()
    bid, member, first = b.submitted_bid(tender)
    assert (first.version, bid.status) == (1, BidStatus.SUBMITTED)
    content = bids.read_draft(bid, b.sealer())
    content.price = Decimal("100000.00")
    bids.save_draft(session, bid, content, sealer=b.sealer())
    second = bids.submit(session, bid, user=member, sealer=b.sealer())
    bids.withdraw(session, bid, user=member)
    session.commit()
    kinds = [(v.number, v.kind) for v in session.scalars(select(BidVersion).where(BidVersion.bid_id == bid.id)
                                                         .order_by(BidVersion.number))]
    assert kinds == [(1, VersionKind.SUBMISSION), (2, VersionKind.SUBMISSION), (3, VersionKind.WITHDRAWAL)]
    assert second.digest != first.digest
    assert bid.status == BidStatus.WITHDRAWN and bid.current_version_id is None


def test_receipt_digest_is_sha256_of_the_canonical_bid_with_its_attachments(session):
    tender = b.published()
    bid, _, receipt = b.submitted_bid(tender, attachment=b.PDF)
    version = session.get(BidVersion, bid.current_version_id)
    body = b.sealer().unseal(version.sealed, f"bid:{bid.id}:version:{receipt.version}")
    assert hashlib.sha256(body).hexdigest() == receipt.digest == version.digest
    payload = json.loads(body)
    assert payload["price"] == str(b.PRICE)
    assert payload["attachments"][0]["sha256"] == hashlib.sha256(b.PDF).hexdigest()
    assert bids.canonical(payload) == body
    # The server time is the database's, stored in UTC.
    assert abs((as_utc(receipt.submitted_at) - db_now(session)).total_seconds()) < 60


def test_opening_record_digests_match_the_receipts_and_only_latest_versions_count(session):
    tender = b.published()
    receipts = {}
    for price in ("150000.00", "160000.00", "170000.00"):
        bid, member, receipt = b.submitted_bid(tender, price=Decimal(price))
        receipts[bid.id] = receipt
    # The last bidder revises its price: only the new version counts.
    content = bids.read_draft(bid, b.sealer())
    content.price = Decimal("140000.00")
    bids.save_draft(session, bid, content, sealer=b.sealer())
    receipts[bid.id] = bids.submit(session, bid, user=member, sealer=b.sealer())
    session.commit()
    b.pass_deadline(tender)
    assert _advance() == {tender.id: "opened"}
    entries = session.scalars(select(OpeningRecord).where(OpeningRecord.tender_id == tender.id)).all()
    assert {e.bid_id: e.digest for e in entries} == {k: r.digest for k, r in receipts.items()}
    assert sorted(e.price for e in entries) == [Decimal("140000.00"), Decimal("150000.00"), Decimal("160000.00")]


def test_advance_is_idempotent(session):
    tender = b.published()
    for _ in range(3):
        b.submitted_bid(tender)
    b.pass_deadline(tender)
    assert _advance() == {tender.id: "opened"}
    notified = session.scalar(select(sa.func.count(Notification.id)))
    assert _advance() == {}
    assert session.scalar(select(sa.func.count(OpeningRecord.id))) == 3
    assert session.scalar(select(sa.func.count(Notification.id))) == notified


def test_fewer_bids_than_the_minimum_fail_the_tender(session):
    tender = b.published()
    b.submitted_bid(tender)
    bid, member, _ = b.submitted_bid(tender)
    bids.withdraw(session, bid, user=member)  # withdrawn: not counted
    session.commit()
    b.pass_deadline(tender)
    assert _advance() == {tender.id: "failed"}
    session.expire_all()
    assert session.get(Tender, tender.id).status == TenderStatus.FAILED


def test_tender_not_due_is_left_alone(session):
    tender = b.published()
    b.submitted_bid(tender)
    assert _advance() == {}
    assert session.get(Tender, tender.id).status == TenderStatus.TENDERING


def test_cli_advance(app, session):
    tender = b.published()
    b.pass_deadline(tender)
    result = app.test_cli_runner().invoke(args=["tenders", "advance"])
    assert f"tender {tender.id}: failed" in result.output


def test_digest_mismatch_halts_that_tender_loudly_and_others_go_on(session, caplog):
    admin = factories.admin()
    bad, good = b.published(), b.published()
    bad_bid, _, _ = b.submitted_bid(bad)
    for _ in range(3):
        b.submitted_bid(good)
    # Someone with database access alters the stored digest.
    session.execute(update(BidVersion).where(BidVersion.bid_id == bad_bid.id).values(digest="0" * 64))
    session.commit()
    b.pass_deadline(bad)
    b.pass_deadline(good)
    with caplog.at_level(logging.ERROR):
        assert _advance() == {bad.id: "halted", good.id: "opened"}
    assert any("INTEGRITY ERROR" in r.getMessage() and bad.public_number in r.getMessage() for r in caplog.records)
    assert session.scalar(select(sa.func.count(OpeningRecord.id)).where(OpeningRecord.tender_id == bad.id)) == 0
    told = session.scalars(select(Notification).where(Notification.recipient_user_id == admin.id)).all()
    assert [n.template for n in told] == ["opening_halted"]


def test_sealed_content_moved_to_another_bid_does_not_open(session):
    tender = b.published()
    first, _, _ = b.submitted_bid(tender, price=Decimal("99999.00"))
    second, _, _ = b.submitted_bid(tender)
    b.submitted_bid(tender)
    stolen = session.get(BidVersion, first.current_version_id)
    session.execute(update(BidVersion).where(BidVersion.id == second.current_version_id)
                    .values(sealed=stolen.sealed, digest=stolen.digest))
    session.commit()
    b.pass_deadline(tender)
    assert _advance() == {tender.id: "halted"}


def test_submission_after_the_deadline_is_refused_and_stores_nothing(session):
    tender = b.published()
    org, member = b.bidder()
    bid = bids.get_or_create(session, tender, org, today=b.TODAY)
    content = bids.BidContent(price=Decimal("1000"), technical="方案", declarations={k: True for k in bids.DECLARATIONS})
    bids.save_draft(session, bid, content, sealer=b.sealer())
    session.commit()
    b.pass_deadline(tender)
    with pytest.raises(bids.DeadlinePassed) as info:
        bids.submit(session, bid, user=member, sealer=b.sealer())
    assert "截止" in str(info.value.message)
    session.rollback()
    assert session.scalar(select(sa.func.count(BidVersion.id))) == 0


def test_withdrawal_and_revision_after_the_deadline_are_refused(session):
    tender = b.published()
    bid, member, _ = b.submitted_bid(tender)
    b.pass_deadline(tender)
    with pytest.raises(bids.DeadlinePassed):
        bids.withdraw(session, bid, user=member)
    session.rollback()
    with pytest.raises(bids.DeadlinePassed):
        bids.submit(session, session.get(Bid, bid.id), user=member, sealer=b.sealer())


def test_submission_after_the_opening_is_refused(session):
    tender = b.published()
    org, member = b.bidder()
    bid = bids.get_or_create(session, tender, org, today=b.TODAY)
    session.commit()
    b.pass_deadline(tender)
    _advance()
    with pytest.raises(bids.DeadlinePassed):
        bids.submit(session, bid, user=member, sealer=b.sealer())


def test_bid_rules_price_declarations_proposal(session):
    tender = b.published()
    org, member = b.bidder()
    bid = bids.get_or_create(session, tender, org, today=b.TODAY)
    cases = [
        (bids.BidContent(price=None, technical="x", declarations={k: True for k in bids.DECLARATIONS}), "price"),
        (bids.BidContent(price=Decimal("190000"), technical="x",
                         declarations={k: True for k in bids.DECLARATIONS}), "price"),  # over the maximum
        (bids.BidContent(price=Decimal("1000"), technical=" ", declarations={k: True for k in bids.DECLARATIONS}),
         "technical"),
        (bids.BidContent(price=Decimal("1000"), technical="x", declarations={}), "declarations"),
    ]
    for content, field in cases:
        bids.save_draft(session, bid, content, sealer=b.sealer())
        with pytest.raises(DomainError) as info:
            bids.submit(session, bid, user=member, sealer=b.sealer())
        assert info.value.field == field


def test_who_may_bid(session):
    tender = b.published()
    other_county = factories.organization("371302")
    assert not bids.may_bid(tender, other_county, today=b.TODAY)[0]
    lawyer_only = factories.organization(org_type="individual")
    assert not bids.may_bid(tender, lawyer_only, today=b.TODAY)[0]
    pending = factories.organization(status="pending")
    assert not bids.may_bid(tender, pending, today=b.TODAY)[0]
    with pytest.raises(DomainError):
        bids.get_or_create(session, tender, pending, today=b.TODAY)
    assert bids.may_bid(tender, b.bidder()[0], today=b.TODAY)[0]


def test_unconfirmed_bid_after_an_amendment_is_not_counted(session):
    tender = b.published()
    bids_ = [b.submitted_bid(tender) for _ in range(3)]
    tenders.amend(session, tender, {"service_place": "依汶镇"}, summary="服务地点更正", actor=None, now=utcnow(),
                  rules=b.rules())
    session.commit()
    told = session.scalars(select(Notification).where(Notification.template == "tender_amended")).all()
    assert {n.recipient_user_id for n in told} >= {m.id for _, m, _ in bids_}
    bids.confirm(session, bids_[0][0], user=bids_[0][1])
    bids.confirm(session, bids_[1][0], user=bids_[1][1])
    session.commit()
    b.pass_deadline(tender)
    assert _advance() == {tender.id: "failed"}  # 2 counted, 3 needed
    counted = set(session.scalars(select(OpeningRecord.bid_id)))
    assert counted == {bids_[0][0].id, bids_[1][0].id}


# --- sealing ------------------------------------------------------------------------


def test_every_sealed_blob_names_its_key_and_rotation_keeps_old_bids_open(app, session, monkeypatch):
    tender = b.published()
    old_bid, _, _ = b.submitted_bid(tender)
    old_key = app.config["SEAL_KEY_ID"]
    assert sealing.key_id_of(session.get(BidVersion, old_bid.current_version_id).sealed) == old_key
    monkeypatch.setitem(app.config, "SEAL_KEYS", {**app.config["SEAL_KEYS"], "k9": b"\x09" * 32})
    monkeypatch.setitem(app.config, "SEAL_KEY_ID", "k9")
    new_bid, _, _ = b.submitted_bid(tender)
    b.submitted_bid(tender)
    assert sealing.key_id_of(session.get(BidVersion, new_bid.current_version_id).sealed) == "k9"
    b.pass_deadline(tender)
    assert _advance() == {tender.id: "opened"}


def test_a_blob_does_not_open_without_its_key():
    blob = sealing.seal(b"secret", aad="x", keys={"a": b"\x01" * 32}, key_id="a")
    with pytest.raises(sealing.SealError):
        sealing.unseal(blob, aad="x", keys={"b": b"\x01" * 32})
    with pytest.raises(sealing.SealError):
        sealing.unseal(blob[:-1] + bytes([blob[-1] ^ 1]), aad="x", keys={"a": b"\x01" * 32})


SECRET_PRICE = Decimal("176543.21")
SECRET_TEXT = "绝密技术方案XYZZY"


def _dump(database_url: str) -> bytes:
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return subprocess.run(
            ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
             url.database], check=True, capture_output=True, timeout=120).stdout
    db.session.remove()
    db.engine.dispose()
    # Everything SQLite stores: the database file and, in WAL mode (which email
    # delivery switches on), the write-ahead log that holds the newest pages.
    files = [Path(url.database), Path(f"{url.database}-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_a_database_dump_reveals_no_price_no_content_no_attachment(session, database_url):
    tender = b.published()
    attachment = b.PDF.replace(b"1 0 obj", b"1 0 obj(ATTACHMENT-SECRET)")
    b.submitted_bid(tender, price=SECRET_PRICE, technical=SECRET_TEXT, attachment=attachment)
    number = tender.public_number
    dump = _dump(database_url)
    assert number.encode() in dump  # the dump is real: public data is there, in clear
    for secret in ("176543.21", "176543", SECRET_TEXT, "ATTACHMENT-SECRET", "方案.pdf"):
        assert secret.encode() not in dump, secret


def test_logs_and_emails_before_the_opening_reveal_no_price_or_content(session, caplog):
    tender = b.published()
    with caplog.at_level(logging.DEBUG):
        bid, member, receipt = b.submitted_bid(tender, price=SECRET_PRICE, technical=SECRET_TEXT)
        _advance()  # not due: nothing
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "176543" not in logged and SECRET_TEXT not in logged
    receipt_mails = session.scalars(select(Notification).where(Notification.template == "bid_receipt")).all()
    assert receipt_mails and all(n.recipient_user_id != None for n in receipt_mails)  # noqa: E711
    for n in receipt_mails:
        text = n.subject + n.body_text + n.body_html
        assert receipt.digest in n.body_text and receipt.digest in n.body_html
        assert "176543" not in text and SECRET_TEXT not in text


def test_receipt_email_html_escapes_user_values(session):
    tender = b.published(title="<script>alert(1)</script>养老")
    b.submitted_bid(tender)
    n = session.scalars(select(Notification).where(Notification.template == "bid_receipt")).first()
    assert "<script>alert(1)</script>" not in n.body_html and "&lt;script&gt;" in n.body_html


# --- attachments ----------------------------------------------------------------------


def _docx(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document>方案</document>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


def _add(session, bid, data, name="x.pdf", max_bytes=10**6):
    return bids.add_file(session, bid, filename=name, data=data, max_bytes=max_bytes, max_count=3,
                         limits=b.limits(), sealer=b.sealer())


def test_attachment_types_are_checked_by_content(session):
    tender = b.published()
    org, _ = b.bidder()
    bid = bids.get_or_create(session, tender, org, today=b.TODAY)
    _add(session, bid, _docx(), "方案.docx")
    from openpyxl import Workbook

    xlsx = io.BytesIO()
    Workbook().save(xlsx)
    _add(session, bid, xlsx.getvalue(), "报价.xlsx")
    for data, name in ((b"MZ\x90\x00fake exe", "scan.pdf"), (b"<html><script>x</script>", "a.pdf"),
                       (b"PK\x03\x04not a zip", "a.docx")):
        with pytest.raises(DomainError):
            _add(session, bid, data, name)
    with pytest.raises(DomainError):  # a zip that is no Office document
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("evil.exe", "MZ")
        _add(session, bid, buffer.getvalue(), "a.docx")


def test_decompression_bomb_and_size_limits(session):
    tender = b.published()
    org, _ = b.bidder()
    bid = bids.get_or_create(session, tender, org, today=b.TODAY)
    bomb = _docx({"word/media/zeros.bin": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 200 * 1024
    with pytest.raises(DomainError) as info:
        _add(session, bid, bomb, "bomb.docx")
    assert "压缩炸弹" in str(info.value.message)
    with pytest.raises(DomainError):
        _add(session, bid, b.PDF + b" " * 2000, max_bytes=1000)
    for _ in range(3):
        _add(session, bid, b.PDF)
    with pytest.raises(DomainError):  # max_count 3
        _add(session, bid, b.PDF)


# --- the deadline under concurrency (PostgreSQL) ---------------------------------------


@pytest.mark.parametrize("from_the_editor", [False, True], ids=["saved draft", "draft saved and submitted at once"])
def test_concurrent_submissions_at_the_deadline(app, session, database_url, from_the_editor):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks and the server clock: PostgreSQL")
    tender = b.published()
    prepared = []
    for i in range(24):
        org, member = b.bidder()
        bid = bids.get_or_create(session, tender, org, today=b.TODAY)
        content = bids.BidContent(price=Decimal(1000 + i), technical="方案",
                                  declarations={k: True for k in bids.DECLARATIONS})
        bids.save_draft(session, bid, content, sealer=b.sealer())
        prepared.append((bid.id, member.id))
    session.commit()
    deadline = db_now(session) + timedelta(seconds=2)
    # min_bids=1: the tender opens with any accepted bid, however few a busy machine lets through.
    session.execute(update(Tender).where(Tender.id == tender.id).values(bid_deadline=deadline, next_due_at=deadline,
                                                                         min_bids=1))
    session.commit()
    start = time.monotonic() + (deadline - db_now(session)).total_seconds() - 0.3
    outcomes, errors = [], []

    def attempt(index, bid_id, member_id):
        time.sleep(max(0.0, start + index * 0.025 - time.monotonic()))  # spread over ~0.6 s around the deadline
        with app.app_context():
            try:
                from procure.accounts.models import User

                bid = db.session.get(Bid, bid_id)
                # From the editor, the draft is saved by the statement that takes the locks and reads the clock.
                content = bids.read_draft(bid, b.sealer()) if from_the_editor else None
                receipt = bids.submit(db.session, bid, user=db.session.get(User, member_id), sealer=b.sealer(),
                                      content=content)
                db.session.commit()
                outcomes.append(("accepted", receipt))
            except bids.DeadlinePassed:
                db.session.rollback()
                outcomes.append(("refused", None))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i, *p)) for i, p in enumerate(prepared)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    accepted = [r for kind, r in outcomes if kind == "accepted"]
    refused = [r for kind, r in outcomes if kind == "refused"]
    assert len(accepted) + len(refused) == len(prepared)
    assert accepted and refused, "the attempts must straddle the deadline"
    assert all(as_utc(r.submitted_at) < deadline for r in accepted)  # 0 late accepted
    time.sleep(max(0.0, (deadline - db_now(session)).total_seconds()) + 0.1)
    session.expire_all()
    assert _advance() == {tender.id: "opened"}
    entries = session.scalars(select(OpeningRecord).where(OpeningRecord.tender_id == tender.id)).all()
    assert sorted(e.digest for e in entries) == sorted(r.digest for r in accepted)  # none lost


@pytest.mark.parametrize("second_act", ["submit with its draft", "submit the saved draft", "withdraw"])
def test_two_members_acting_on_one_bid_at_once_get_the_next_numbers(app, session, database_url, second_act):
    """The second act waits for the bid's row lock; the version the first
    committed meanwhile is missing from the snapshot its locking statement
    took before waiting: its number is checked (and taken again) once the
    lock is held, never a duplicate."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    tender = b.published()
    org, first = b.bidder()
    second_id = factories.org_member(org).id
    bid, _, _ = b.submitted_bid(tender, who=(org, first))  # version 1
    bid_id = bid.id

    def content(price):
        return bids.BidContent(price=Decimal(price), technical="方案", team="甲",
                               declarations={k: True for k in bids.DECLARATIONS})

    held = bids.submit(session, session.get(Bid, bid_id), user=first, sealer=b.sealer(), content=content("1000"))
    outcome = {}

    def other():
        with app.app_context():
            try:
                from procure.accounts.models import User

                other_bid, user = db.session.get(Bid, bid_id), db.session.get(User, second_id)
                if second_act == "submit with its draft":
                    outcome["receipt"] = bids.submit(db.session, other_bid, user=user, sealer=b.sealer(),
                                                     content=content("900"))
                elif second_act == "submit the saved draft":
                    outcome["receipt"] = bids.submit(db.session, other_bid, user=user, sealer=b.sealer())
                else:
                    bids.withdraw(db.session, other_bid, user=user)
                db.session.commit()
            except Exception as exc:  # reported below
                outcome["error"] = repr(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    thread = threading.Thread(target=other)
    thread.start()
    with db.engine.connect() as watcher:  # until the other act waits for the bid's lock
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not watcher.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")):
            time.sleep(0.05)
            watcher.rollback()
    session.commit()
    thread.join(30)
    assert "error" not in outcome, outcome
    assert held.version == 2
    versions = session.scalars(select(BidVersion).where(BidVersion.bid_id == bid_id)
                               .order_by(BidVersion.number)).all()
    assert [v.number for v in versions] == [1, 2, 3]
    session.expire_all()
    bid = session.get(Bid, bid_id)
    if second_act == "withdraw":
        assert versions[2].kind == VersionKind.WITHDRAWAL and bid.status == BidStatus.WITHDRAWN
        return
    receipt = outcome["receipt"]
    assert receipt.version == 3 and bid.current_version_id == versions[2].id
    from procure.bids.opening import verify

    payload = verify(session, bid, versions[2], b.sealer().keys)  # sealed under its own number, digest matches
    assert versions[2].digest == receipt.digest
    # With its draft: the one it sent; without: the draft as it had read it (before the first committed).
    assert payload["price"] == ("900.00" if second_act == "submit with its draft" else str(b.PRICE))
    from procure.accounts.models import RoleAssignment

    members = session.scalars(select(RoleAssignment.user_id).where(RoleAssignment.organization_id == org.id)).all()
    assert second_id in members and first.id in members
    receipts = session.scalars(select(Notification).where(Notification.template == "bid_receipt")).all()
    assert sorted(n.event_key for n in receipts) == sorted(
        f"bid:{bid_id}:v{v}:user:{u}" for v in (1, 2, 3) for u in members)


def test_every_member_gets_the_receipt_in_their_language_by_email_and_in_the_inbox(session, mailbox):
    tender = b.published(title="<b>居家养老</b>")
    org, member = b.bidder()
    admin = factories.org_member(org, admin=True)
    english = factories.org_member(org)
    english.locale = "en"
    session.commit()
    earlier = len(mailbox.messages)
    bid, _, receipt = b.submitted_bid(tender, who=(org, member))
    sent = {m.rcpt_tos[0]: m for m in mailbox.messages[earlier:]}
    from procure.accounts.models import RoleAssignment, User

    members = session.scalars(select(User.email).join(RoleAssignment, RoleAssignment.user_id == User.id)
                              .where(RoleAssignment.organization_id == org.id)).all()
    assert set(sent) == set(members) >= {member.email, admin.email, english.email}
    table = Notification.__table__
    stored = {r.recipient_email: r for r in session.execute(select(table).where(table.c.template == "bid_receipt"))}
    for address, message in sent.items():
        row = stored[address]
        assert receipt.digest in message.text and receipt.digest in message.html
        assert row.subject == message.subject and row.body_text == message.text.replace("\r\n", "\n")
        assert "&lt;b&gt;居家养老&lt;/b&gt;" in row.body_html and "<b>居家养老</b>" not in row.body_html
        assert "123456" not in message.text + message.html  # never the price
    assert sent[english.email].subject.startswith("Bid receipt") and stored[english.email].locale == "en"
    assert sent[member.email].subject.startswith("投标回执")


@pytest.mark.parametrize("from_the_editor", [False, True], ids=["saved draft", "draft saved and submitted at once"])
def test_a_submission_changes_nothing_the_public_sees(app, session, from_the_editor):
    """Not even the tenders' cache generation (the ETag of every public tender
    page): an observer must not be able to count submissions before the opening."""
    from procure import caching

    tender = b.published()
    org, member = b.bidder()
    bid = bids.get_or_create(session, tender, org, today=b.TODAY)
    content = bids.BidContent(price=Decimal("1000"), technical="方案", declarations={k: True for k in bids.DECLARATIONS})
    bids.save_draft(session, bid, content, sealer=b.sealer())
    session.commit()
    before = {name: caching.generation(name) for name in ("tenders", "catalogs", "organizations")}
    bids.submit(session, bid, user=member, sealer=b.sealer(), content=content if from_the_editor else None)
    session.commit()
    assert {name: caching.generation(name) for name in before} == before


def test_the_beat_job_opens_due_tenders(app, session):
    from procure import jobs

    tender = b.published()
    b.pass_deadline(tender)
    assert jobs.run("advance_tenders", session, now=utcnow(), config=app.config, dry_run=False) == [
        f"tender {tender.id}: failed"]
    assert jobs.run("advance_tenders", session, now=utcnow(), config=app.config, dry_run=False) == ["nothing due"]
