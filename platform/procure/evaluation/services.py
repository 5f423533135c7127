"""Evaluation and award: state changes (explicit arguments, DomainError on a
refused request, flush never commit).

The flow of one evaluation::

    setup (officer adds members; each member declares) ─officer starts─► review
    review (chair records pass/fail per bid) ─chair finishes─► scoring | failed (废标)
    scoring (each member fills and submits their sheet) ─chair reports─► reported
    reported ─officer awards─► awarded (result notice, publicity, notices to bidders)
    awarded ─challenge upheld─► reopened (a new evaluation in setup) | tender cancelled

The tender's status follows: evaluating (from the start, again after a
re-opening), failed (废标), awarded; contracts move it on to contracted and
evaluated (procure.contracts.services).
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from procure.accounts.models import Role, RoleAssignment, User
from procure.errors import DomainError
from procure.evaluation import clocks, scoring, tenderfacts
from procure.evaluation.models import (
    Award,
    AwardNotice,
    CommitteeMember,
    Evaluation,
    EvaluationResult,
    EvaluationState,
    MemberKind,
    MemberScore,
    MemberStatus,
    NoticeKind,
    Qualification,
)
from procure.evaluation.tenderfacts import OpenedBid, TenderFacts
from procure.timeutil import as_utc, utcnow

MAX_TEXT = 5000


@dataclass(frozen=True)
class ClockSettings:
    """The configured lengths (procure.config) the award needs."""

    publicity_workdays: int = 1
    challenge_workdays: int = 7
    contract_days: int = 30
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_config(cls, config: Mapping) -> ClockSettings:
        return cls(
            publicity_workdays=int(config["RESULT_PUBLICITY_WORKDAYS"]),
            challenge_workdays=int(config["CHALLENGE_RESULT_WORKDAYS"]),
            contract_days=int(config["CONTRACT_SIGNING_DAYS"]),
            timezone=config.get("TIMEZONE", "Asia/Shanghai"),
        )


def _text(value: str | None, *, required=None, field: str = "reason") -> str:
    text = (value or "").strip()
    if required is not None and not text:
        raise DomainError(required, field=field)
    if len(text) > MAX_TEXT:
        raise DomainError(_l("内容不能超过 %(n)s 个字符。", n=MAX_TEXT), field=field)
    return text


def _require_state(evaluation: Evaluation, *states: EvaluationState) -> None:
    if evaluation.state not in states:
        raise DomainError(_l("评审当前所处阶段不允许此操作。"))


# === the committee ==============================================================


def start(session: Session, facts: TenderFacts, *, officer: User) -> Evaluation:
    """Open the evaluation of an opened tender (one current evaluation per tender)."""
    existing = session.scalar(
        select(Evaluation).where(Evaluation.tender_id == facts.tender_id, Evaluation.current.is_(True))
    )
    if existing is not None:
        return existing
    evaluation = Evaluation(tender_id=facts.tender_id, created_by_id=officer.id, state=EvaluationState.SETUP)
    session.add(evaluation)
    session.flush()
    tenderfacts.set_status(session, facts.tender_id, tenderfacts.EVALUATING)
    return evaluation


def _organization_ids_of(user: User) -> set[int]:
    return {r.organization_id for r in user.roles if r.organization_id is not None}


def _find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email))


def add_member(
    session: Session,
    evaluation: Evaluation,
    *,
    email: str,
    name: str = "",
    kind: MemberKind = MemberKind.EVALUATOR,
    chair: bool = False,
    bidder_org_ids: set[int],
    facts: TenderFacts,
    invited_by: User,
) -> CommitteeMember:
    """Add an evaluator (an account with the evaluator role; a new address gets
    an account and an invitation by email) or the purchaser representative (a
    township officer of the purchasing township; at most one; never the chair).
    Nobody belonging to a bidding organization may sit on the committee."""
    from procure.accounts import services as account_services

    _require_state(evaluation, EvaluationState.SETUP)
    email = account_services.normalize_email(email or "")
    if "@" not in email:
        raise DomainError(_l("请输入有效的邮箱地址。"), field="email")
    name = _text(name, field="name")[:100]
    user = _find_user(session, email)
    if kind == MemberKind.PURCHASER:
        if chair:
            raise DomainError(_l("采购人代表不能担任评审委员会主任。"), field="chair")
        if any(m.kind == MemberKind.PURCHASER and m.active for m in evaluation.members):
            raise DomainError(_l("评审委员会只能有一名采购人代表。"), field="kind")
        townships = {r.division_id for r in (user.roles if user else []) if r.role == Role.TOWNSHIP_OFFICER}
        if user is None or facts.township_id not in townships:
            raise DomainError(_l("采购人代表须为采购乡镇的工作人员账号。"), field="email")
    invited = False
    if user is None:
        user = account_services.create_user(
            session, email=email, password=secrets.token_urlsafe(32), name=name, confirmed=False
        )
        account_services.grant_role(session, user, Role.EVALUATOR)
        invited = True
    elif kind == MemberKind.EVALUATOR and not user.has_role(Role.EVALUATOR):
        raise DomainError(_l("%(e)s 不是评审专家账号。", e=email), field="email")
    if _organization_ids_of(user) & bidder_org_ids:
        raise DomainError(_l("%(e)s 属于本项目的投标机构，不能担任评审委员。", e=email), field="email")
    for member in evaluation.members:
        if member.user_id == user.id:
            raise DomainError(_l("%(e)s 已在评审委员会中。", e=email), field="email")
    if chair:
        for member in evaluation.members:
            member.is_chair = False
    member = CommitteeMember(evaluation=evaluation, user=user, kind=kind, is_chair=chair)
    session.add(member)
    session.flush()
    _notify_member(session, member, facts, invited=invited)
    return member


def _notify_member(session: Session, member: CommitteeMember, facts: TenderFacts, *, invited: bool) -> None:
    from procure.accounts import services as account_services
    from procure.notifications.services import notify

    context = {"tender_title": facts.title, "tender_number": facts.number}
    if invited:
        # A new account: the link sets a password (and so confirms the email).
        url = account_services.external_url("accounts.reset_password", token=account_services.reset_token(member.user))
        notify(session, event_key=f"evaluation.invite:{member.id}", template="evaluator_invitation",
               context={**context, "url": url}, recipient=member.user, link=url)
    else:
        notify(session, event_key=f"evaluation.member:{member.id}", template="evaluator_assigned",
               context=context, recipient=member.user, link=f"/evaluations/{member.evaluation_id}")


def remove_member(session: Session, member: CommitteeMember) -> None:
    _require_state(member.evaluation, EvaluationState.SETUP)
    session.delete(member)
    session.flush()


def declare(session: Session, member: CommitteeMember, *, conflict: bool, note: str = "",
            officers: Sequence[User] = (), facts: TenderFacts | None = None) -> CommitteeMember:
    """The member's declaration on conflicts of interest with the bidders, made
    before seeing any bid. A declared conflict removes the member; the officers
    are asked to appoint a replacement."""
    from procure.notifications.services import notify

    _require_state(member.evaluation, EvaluationState.SETUP)
    if member.status != MemberStatus.INVITED:
        raise DomainError(_l("您已经作出声明。"))
    member.declared_at = utcnow()
    if not conflict:
        member.status = MemberStatus.DECLARED
    else:
        member.status = MemberStatus.CONFLICTED
        member.conflict_note = _text(note, required=_l("请说明利害关系。"), field="note")
        member.is_chair = False
        for officer in officers:
            notify(session, event_key=f"evaluation.conflict:{member.id}", template="committee_replace",
                   context={"member_name": member.user.name or member.user.email,
                            "tender_title": facts.title if facts else ""},
                   recipient=officer, link=f"/manage/evaluations/{member.evaluation_id}")
    session.flush()
    return member


def active_members(evaluation: Evaluation) -> list[CommitteeMember]:
    return [m for m in evaluation.members if m.active]


def begin_review(session: Session, evaluation: Evaluation, *, min_members: int) -> Evaluation:
    """The officer closes the committee: a chair, enough members, every one declared."""
    _require_state(evaluation, EvaluationState.SETUP)
    members = active_members(evaluation)
    if len(members) < min_members:
        raise DomainError(_l("评审委员会至少需要 %(n)s 名成员。", n=min_members))
    if not any(m.is_chair for m in members):
        raise DomainError(_l("请指定评审委员会主任（评审专家）。"))
    if any(m.status != MemberStatus.DECLARED for m in members):
        raise DomainError(_l("所有成员须先声明与投标人无利害关系。"))
    evaluation.state = EvaluationState.REVIEW
    session.flush()
    return evaluation


# === qualification review ======================================================


def record_qualification(session: Session, evaluation: Evaluation, bid: OpenedBid, *, passed: bool,
                         reason: str = "", actor: User) -> Qualification:
    _require_state(evaluation, EvaluationState.REVIEW)
    reason = _text(reason, required=None if passed else _l("不通过资格审查须写明理由（投标人可见）。"))
    row = session.scalar(
        select(Qualification).where(Qualification.evaluation_id == evaluation.id, Qualification.bid_id == bid.bid_id)
    )
    if row is None:
        row = Qualification(evaluation_id=evaluation.id, bid_id=bid.bid_id)
        session.add(row)
    row.passed = passed
    row.reason = "" if passed else reason
    row.decided_by_id = actor.id
    row.decided_at = utcnow()
    session.flush()
    return row


def qualifications(session: Session, evaluation: Evaluation) -> dict[int, Qualification]:
    rows = session.scalars(select(Qualification).where(Qualification.evaluation_id == evaluation.id))
    return {q.bid_id: q for q in rows}


def finish_review(session: Session, evaluation: Evaluation, facts: TenderFacts, bids: Sequence[OpenedBid],
                  *, now: datetime | None = None) -> Evaluation:
    """Every bid decided: with fewer qualified bids than the tender's minimum
    the tender fails (废标); otherwise scoring begins (comprehensive scoring)
    or the report can be made at once (lowest price)."""
    _require_state(evaluation, EvaluationState.REVIEW)
    decided = qualifications(session, evaluation)
    if any(b.bid_id not in decided for b in bids):
        raise DomainError(_l("还有投标未作资格审查结论。"))
    valid = [b for b in bids if decided[b.bid_id].passed]
    if len(valid) < facts.min_bids:
        evaluation.state = EvaluationState.FAILED
        evaluation.failed_at = as_utc(now or utcnow())
        evaluation.failed_reason = str(
            _l("通过资格和符合性审查的投标只有 %(v)s 家，少于本项目要求的 %(m)s 家。", v=len(valid), m=facts.min_bids)
        )
        tenderfacts.set_status(session, facts.tender_id, tenderfacts.FAILED)
    else:
        evaluation.state = EvaluationState.SCORING
    session.flush()
    return evaluation


# === scoring ===================================================================


def parse_score(raw) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def save_scores(session: Session, member: CommitteeMember, facts: TenderFacts, valid_bid_ids: set[int],
                scores: Mapping[tuple[int, str], object]) -> None:
    """Store (or change) the member's own scores, until their sheet is submitted."""
    evaluation = member.evaluation
    _require_state(evaluation, EvaluationState.SCORING)
    if not member.active or member.status != MemberStatus.DECLARED:
        raise DomainError(_l("您不是本项目的评审委员。"))
    if member.sheet_submitted_at is not None:
        raise DomainError(_l("评分表已提交，不能修改。"))
    maxima = {c.key: c.maximum for c in facts.criteria}
    existing = {
        (s.bid_id, s.criterion_key): s
        for s in session.scalars(select(MemberScore).where(MemberScore.member_id == member.id))
    }
    for (bid_id, key), raw in scores.items():
        if bid_id not in valid_bid_ids or key not in maxima:
            raise DomainError(_l("评分项无效。"))
        if raw is None or str(raw).strip() == "":
            continue
        value = parse_score(raw)
        if value is None or not scoring.is_valid_member_score(value, maxima[key]):
            raise DomainError(
                _l("分数须在 0 到 %(max)s 之间，最多两位小数。", max=maxima[key]), field=f"s-{bid_id}-{key}"
            )
        row = existing.get((bid_id, key))
        if row is None:
            session.add(MemberScore(member_id=member.id, bid_id=bid_id, criterion_key=key, score=value))
        else:
            row.score = value
    session.flush()


def submit_sheet(session: Session, member: CommitteeMember, facts: TenderFacts, valid_bid_ids: set[int]) -> None:
    _require_state(member.evaluation, EvaluationState.SCORING)
    if member.sheet_submitted_at is not None:
        raise DomainError(_l("评分表已提交，不能修改。"))
    have = {
        (bid, key)
        for bid, key in session.execute(
            select(MemberScore.bid_id, MemberScore.criterion_key).where(MemberScore.member_id == member.id)
        )
    }
    need = {(b, c.key) for b in valid_bid_ids for c in facts.criteria}
    if need - have:
        raise DomainError(_l("请为每一家有效投标的每一项评分。"))
    member.sheet_submitted_at = utcnow()
    session.flush()


def member_scores(session: Session, evaluation: Evaluation) -> dict[int, dict[int, dict[str, Decimal]]]:
    """member id -> bid id -> criterion key -> score (submitted and not)."""
    out: dict[int, dict[int, dict[str, Decimal]]] = {}
    rows = session.scalars(
        select(MemberScore).join(CommitteeMember, CommitteeMember.id == MemberScore.member_id)
        .where(CommitteeMember.evaluation_id == evaluation.id)
    )
    for s in rows:
        out.setdefault(s.member_id, {}).setdefault(s.bid_id, {})[s.criterion_key] = Decimal(s.score)
    return out


def rank(session: Session, evaluation: Evaluation, facts: TenderFacts, bids: Sequence[OpenedBid]) -> list[scoring.Ranked]:
    """The ranking of the valid bids from the submitted sheets."""
    decided = qualifications(session, evaluation)
    valid = [b for b in bids if decided.get(b.bid_id) is not None and decided[b.bid_id].passed]
    candidates = [scoring.Candidate(key=b.bid_id, price=Decimal(b.price), submitted_at=b.submitted_at) for b in valid]
    if not facts.comprehensive:
        return scoring.lowest_price_ranking(candidates)
    submitted = {m.id for m in active_members(evaluation) if m.sheet_submitted_at is not None}
    sheets = member_scores(session, evaluation)
    per_bid: dict[int, dict[str, list[Decimal]]] = {}
    for member_id in sorted(submitted):
        for bid_id, by_key in sheets.get(member_id, {}).items():
            for key, value in by_key.items():
                per_bid.setdefault(bid_id, {}).setdefault(key, []).append(value)
    return scoring.comprehensive_ranking(
        candidates, facts.price_weight, per_bid, [c.key for c in facts.criteria]
    )


def submit_report(session: Session, evaluation: Evaluation, member: CommitteeMember, facts: TenderFacts,
                  bids: Sequence[OpenedBid], *, text: str = "") -> Evaluation:
    """The chair submits the report: the results are frozen and every sheet kept;
    nothing of the evaluation can change afterwards."""
    _require_state(evaluation, EvaluationState.SCORING)
    if not member.is_chair or member.evaluation_id != evaluation.id or not member.active:
        raise DomainError(_l("只有评审委员会主任可以提交评审报告。"))
    if facts.comprehensive and any(m.sheet_submitted_at is None for m in active_members(evaluation)):
        raise DomainError(_l("还有成员未提交评分表。"))
    ranked = {r.key: r for r in rank(session, evaluation, facts, bids)}
    decided = qualifications(session, evaluation)
    for b in bids:
        r = ranked.get(b.bid_id)
        session.add(EvaluationResult(
            evaluation_id=evaluation.id,
            bid_id=b.bid_id,
            organization_id=b.organization_id,
            price=b.price,
            submitted_at=b.submitted_at,
            qualified=r is not None,
            disqualification_reason="" if r is not None else decided[b.bid_id].reason,
            price_score=r.price_score if r else None,
            non_price_score=r.non_price_score if r else None,
            total=r.total if r else None,
            criterion_scores={k: str(v) for k, v in (r.criterion_scores if r else {}).items()},
            rank=r.rank if r else None,
        ))
    evaluation.report_text = _text(text, field="text")
    evaluation.reported_at = utcnow()
    evaluation.state = EvaluationState.REPORTED
    session.flush()
    return evaluation


def results(session: Session, evaluation: Evaluation) -> list[EvaluationResult]:
    return list(session.scalars(
        select(EvaluationResult).where(EvaluationResult.evaluation_id == evaluation.id)
        .order_by(EvaluationResult.rank.is_(None), EvaluationResult.rank, EvaluationResult.id)
    ))


# === award =====================================================================


def award(
    session: Session,
    evaluation: Evaluation,
    facts: TenderFacts,
    *,
    bid_id: int,
    reason: str = "",
    officer: User,
    add_workdays: clocks.AddWorkdays,
    settings: ClockSettings,
    now: datetime | None = None,
) -> Award:
    """Confirm the winner (the top-ranked bid, or another valid one with a
    recorded reason) and publish the result notice: the publicity period and
    the challenge and contract deadlines are computed now; every bidder gets its
    notice (award / not awarded, with its own score, rank and any
    disqualification reason) in the same transaction."""
    _require_state(evaluation, EvaluationState.REPORTED)
    rows = results(session, evaluation)
    chosen = next((r for r in rows if r.bid_id == bid_id), None)
    if chosen is None or not chosen.qualified:
        raise DomainError(_l("只能选择通过资格审查的投标。"), field="bid_id")
    reason = _text(reason, required=None if chosen.rank == 1 else _l("未选择排名第一的投标人，必须记录理由。"))
    now = as_utc(now or utcnow())
    publicity = clocks.publicity_end(now, settings.publicity_workdays, add_workdays, settings.timezone)
    challenge = clocks.challenge_deadline_result(publicity.at, settings.challenge_workdays, add_workdays,
                                                 settings.timezone)
    contract = clocks.contract_deadline(now, settings.contract_days, settings.timezone)
    record = Award(
        evaluation_id=evaluation.id,
        tender_id=facts.tender_id,
        bid_id=chosen.bid_id,
        organization_id=chosen.organization_id,
        amount=chosen.price,
        reason=reason,
        decided_by_id=officer.id,
        notice_published_at=now,
        publicity_ends_at=publicity.at,
        publicity_provisional=publicity.provisional,
        challenge_deadline_at=challenge.at,
        challenge_deadline_provisional=challenge.provisional,
        contract_deadline_at=contract.at,
    )
    session.add(record)
    session.flush()
    for row in rows:
        notice = AwardNotice(
            award_id=record.id,
            organization_id=row.organization_id,
            bid_id=row.bid_id,
            kind=NoticeKind.AWARDED if row.bid_id == chosen.bid_id else NoticeKind.NOT_AWARDED,
            total=row.total,
            rank=row.rank,
            disqualification_reason=row.disqualification_reason,
            created_at=now,
        )
        session.add(notice)
        session.flush()
        _notify_bidder(session, notice, facts)
    evaluation.state = EvaluationState.AWARDED
    tenderfacts.set_status(session, facts.tender_id, tenderfacts.AWARDED)
    session.flush()
    return record


def _org_members(session: Session, organization_id: int) -> list[User]:
    return list(session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.organization_id == organization_id,
               RoleAssignment.role.in_((Role.ORG_ADMIN, Role.ORG_MEMBER)))
        .order_by(User.id)
    ))


def _notify_bidder(session: Session, notice: AwardNotice, facts: TenderFacts) -> None:
    from procure.notifications.services import notify

    template = "award_notice" if notice.kind == NoticeKind.AWARDED else "not_awarded_notice"
    context = {
        "tender_title": facts.title,
        "tender_number": facts.number,
        "total": str(notice.total) if notice.total is not None else "",
        "rank": notice.rank or "",
        "reason": notice.disqualification_reason,
    }
    for user in _org_members(session, notice.organization_id):
        notify(session, event_key=f"award.{notice.kind.value}:{notice.award_id}:{notice.organization_id}",
               template=template, context=context, recipient=user, link=f"/tenders/{facts.tender_id}/my-result")


# === an upheld challenge =========================================================


def _upheld_remedy_allowed(session: Session, challenge, facts: TenderFacts) -> None:
    from procure.challenges.models import ChallengeStatus
    from procure.contracts.models import Contract

    if challenge.tender_id != facts.tender_id or challenge.status != ChallengeStatus.UPHELD:
        raise DomainError(_l("只有成立的质疑才能重新评审或终止项目。"))
    if challenge.remedy:
        raise DomainError(_l("该质疑已经处理。"))
    if session.scalar(select(Contract.id).where(Contract.tender_id == facts.tender_id)) is not None:
        raise DomainError(_l("合同已经签订，不能重新评审或终止项目。"))


def _annul_award(session: Session, tender_id: int, now: datetime) -> Award | None:
    record = session.scalar(
        select(Award).where(Award.tender_id == tender_id, Award.annulled_at.is_(None)).order_by(Award.id.desc())
    )
    if record is not None:
        record.annulled_at = now
    return record


def reopen(session: Session, challenge, facts: TenderFacts, *, officer: User,
           now: datetime | None = None) -> Evaluation:
    """An upheld challenge: the award (if any) is annulled, the current
    evaluation is kept as it was (state ``reopened``, no longer current) and a
    new one starts with a new committee; the tender is evaluating again."""
    _upheld_remedy_allowed(session, challenge, facts)
    now = as_utc(now or utcnow())
    current = session.scalar(
        select(Evaluation).where(Evaluation.tender_id == facts.tender_id, Evaluation.current.is_(True))
    )
    if current is None or current.state in (EvaluationState.SETUP, EvaluationState.FAILED):
        raise DomainError(_l("本项目没有可以重新进行的评审。"))
    _annul_award(session, facts.tender_id, now)
    current.current = False
    current.state = EvaluationState.REOPENED
    session.flush()
    challenge.remedy = "reopened"
    fresh = Evaluation(tender_id=facts.tender_id, created_by_id=officer.id, state=EvaluationState.SETUP)
    session.add(fresh)
    session.flush()
    tenderfacts.set_status(session, facts.tender_id, tenderfacts.EVALUATING)
    return fresh


def cancel_tender(session: Session, challenge, facts: TenderFacts, *, reason: str, officer: User,
                  now: datetime | None = None) -> None:
    """An upheld challenge: the award (if any) is annulled and the tender
    cancelled with a public reason (终止公告)."""
    _upheld_remedy_allowed(session, challenge, facts)
    now = as_utc(now or utcnow())
    _annul_award(session, facts.tender_id, now)
    tenderfacts.cancel(session, facts.tender_id, reason=reason, actor=officer, now=now)
    challenge.remedy = "cancelled"
    session.flush()
