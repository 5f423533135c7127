"""Challenges (质疑): filing within the legal window, the officer's reply within
its due date, and the flag on overdue replies. Flushes, never commits."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.accounts.models import Role, RoleAssignment, User
from procure.challenges.models import Challenge, ChallengeFile, ChallengeStatus, ChallengeSubject
from procure.errors import DomainError
from procure.evaluation import clocks
from procure.evaluation.models import Award
from procure.evaluation.tenderfacts import TenderFacts
from procure.organizations import documents
from procure.timeutil import as_utc, localtime, utcnow

MAX_TEXT = 10000
MAX_FILES = 5
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class ChallengeSettings:
    documents_workdays: int = 7
    result_workdays: int = 7
    reply_workdays: int = 7
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_config(cls, config) -> ChallengeSettings:
        return cls(
            documents_workdays=int(config["CHALLENGE_DOCUMENTS_WORKDAYS"]),
            result_workdays=int(config["CHALLENGE_RESULT_WORKDAYS"]),
            reply_workdays=int(config["CHALLENGE_REPLY_WORKDAYS"]),
            timezone=config.get("TIMEZONE", "Asia/Shanghai"),
        )


@dataclass(frozen=True)
class Evidence:
    filename: str
    data: bytes


def window(facts: TenderFacts, subject: ChallengeSubject, award: Award | None, *,
           add_workdays: clocks.AddWorkdays, settings: ChallengeSettings) -> clocks.Deadline | None:
    """The end of the window for challenges on ``subject``; None while it has
    no end yet (the process, before the result publicity is set)."""
    if subject == ChallengeSubject.DOCUMENTS:
        if facts.published_at is None:
            return None
        return clocks.challenge_deadline_documents(facts.published_at, settings.documents_workdays, add_workdays,
                                                   settings.timezone)
    if award is None:
        return None
    return clocks.challenge_deadline_result(award.publicity_ends_at, settings.result_workdays, add_workdays,
                                            settings.timezone)


def _deadline_text(deadline: clocks.Deadline, tz: str) -> str:
    # The period's last day, to 24:00 (the exclusive end instant is 00:00 next day).
    return f"{deadline.last_day.isoformat()} 24:00"


def file(
    session: Session,
    facts: TenderFacts,
    *,
    organization_id: int,
    bidder_org_ids: set[int],
    user: User,
    subject: ChallengeSubject | str,
    text: str,
    evidence: Sequence[Evidence] = (),
    award: Award | None,
    add_workdays: clocks.AddWorkdays,
    settings: ChallengeSettings,
    upload_root: Path,
    max_bytes: int,
    now: datetime | None = None,
) -> Challenge:
    """A bidder's challenge. Against the documents: until the configured working
    days after publication; against the process or the result: only bidders,
    and the result only once it is published, until the configured working days
    after its publicity ends. A late challenge is refused with the deadline."""
    try:
        subject = ChallengeSubject(subject)
    except ValueError:
        raise DomainError(_l("请选择质疑事项。"), field="subject") from None
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("请写明质疑的事项和理由。"), field="text")
    if len(text) > MAX_TEXT:
        raise DomainError(_l("内容不能超过 %(n)s 个字符。", n=MAX_TEXT), field="text")
    if len(evidence) > MAX_FILES:
        raise DomainError(_l("最多上传 %(n)s 个证明材料。", n=MAX_FILES), field="files")
    if subject != ChallengeSubject.DOCUMENTS and organization_id not in bidder_org_ids:
        raise DomainError(_l("只有本项目的投标人可以对采购过程或结果提出质疑。"), field="subject")
    if subject == ChallengeSubject.RESULT and award is None:
        raise DomainError(_l("成交结果尚未公告，不能对结果提出质疑。"), field="subject")
    now = as_utc(now or utcnow())
    end = window(facts, subject, award, add_workdays=add_workdays, settings=settings)
    if end is not None and not clocks.is_in_time(now, end):
        raise DomainError(
            _l("质疑期已于 %(deadline)s（北京时间）截止，不能再提出质疑。", deadline=_deadline_text(end, settings.timezone)),
            field="subject",
        )
    sniffed = [(e, documents.sniff(e.data, max_bytes=max_bytes)) for e in evidence]
    due = clocks.reply_due(now, settings.reply_workdays, add_workdays, settings.timezone)
    challenge = Challenge(
        tender_id=facts.tender_id,
        county_id=facts.county_id,
        organization_id=organization_id,
        filed_by_id=user.id,
        subject=subject,
        text=text,
        filed_at=now,
        window_ends_at=end.at if end is not None else due.at,
        reply_due_at=due.at,
        reply_due_provisional=due.provisional,
    )
    session.add(challenge)
    session.flush()
    for item, info in sniffed:
        stored = documents.store(Path(upload_root) / str(challenge.id), item.data, info)
        session.add(ChallengeFile(
            challenge_id=challenge.id, filename=documents.clean_original_name(item.filename),
            content_type=info.content_type, size=info.size, sha256=info.sha256, stored_name=stored,
        ))
    session.flush()
    _notify_officers(session, facts.county_id, event_key=f"challenge.filed:{challenge.id}",
                     template="challenge_filed",
                     context={"tender_title": facts.title,
                              "due": localtime(due.at - _SECOND, settings.timezone).strftime("%Y-%m-%d")},
                     link=f"/manage/challenges/{challenge.id}")
    return challenge


def reply(session: Session, challenge: Challenge, *, officer: User, upheld: bool, text: str,
          now: datetime | None = None) -> Challenge:
    """Record the reply (shown to the challenger): upheld or rejected."""
    from procure.notifications.services import notify

    if challenge.status != ChallengeStatus.PENDING:
        raise DomainError(_l("该质疑已经答复。"))
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("请填写答复内容。"), field="text")
    if len(text) > MAX_TEXT:
        raise DomainError(_l("内容不能超过 %(n)s 个字符。", n=MAX_TEXT), field="text")
    challenge.status = ChallengeStatus.UPHELD if upheld else ChallengeStatus.REJECTED
    challenge.reply = text
    challenge.replied_at = as_utc(now or utcnow())
    challenge.replied_by_id = officer.id
    session.flush()
    if challenge.filed_by_id:
        user = session.get(User, challenge.filed_by_id)
        if user is not None:
            notify(session, event_key=f"challenge.reply:{challenge.id}", template="challenge_reply",
                   context={"upheld": upheld}, recipient=user, link=f"/challenges/{challenge.id}")
    return challenge


def pending(session: Session, tender_id: int) -> list[Challenge]:
    return list(session.scalars(
        select(Challenge).where(Challenge.tender_id == tender_id, Challenge.status == ChallengeStatus.PENDING)
        .order_by(Challenge.id)
    ))


def is_overdue(challenge: Challenge, now: datetime) -> bool:
    return challenge.status == ChallengeStatus.PENDING and not clocks.is_in_time(now, challenge.reply_due_at)


def flag_overdue(session: Session, *, now: datetime | None = None) -> list[Challenge]:
    """Tell the county's officers (once) of every challenge whose reply is overdue.
    Idempotent: a flagged challenge is not flagged again."""
    now = as_utc(now or utcnow())  # SQLite compares stored UTC text
    rows = session.scalars(
        select(Challenge).where(Challenge.status == ChallengeStatus.PENDING, Challenge.reply_due_at <= now,
                                Challenge.overdue_flagged_at.is_(None))
        .order_by(Challenge.id).with_for_update(skip_locked=True)
    ).all()
    for challenge in rows:
        challenge.overdue_flagged_at = now
        _notify_officers(session, challenge.county_id, event_key=f"challenge.overdue:{challenge.id}",
                         template="challenge_overdue", context={"challenge_id": challenge.id},
                         link=f"/manage/challenges/{challenge.id}")
    session.flush()
    return list(rows)


def _notify_officers(session: Session, county_id: int, *, event_key: str, template: str, context: dict,
                     link: str) -> None:
    from procure.notifications.services import notify

    officers = session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COUNTY_OFFICER, RoleAssignment.division_id == county_id)
        .order_by(User.id)
    ).all()
    for officer in officers:
        notify(session, event_key=event_key, template=template, context=context, recipient=officer, link=link)
