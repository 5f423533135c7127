"""Contracts (within the configured days of the result notice, term within the
configured limits, never while a challenge is pending) and performance
evaluations. Flushes, never commits."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.accounts.models import User
from procure.challenges import services as challenge_services
from procure.contracts.models import (
    Contract,
    Grade,
    IndicatorKind,
    PerformanceEvaluation,
    PerformanceIndicator,
)
from procure.errors import DomainError
from procure.evaluation import clocks, scoring, tenderfacts
from procure.evaluation.models import Award
from procure.organizations import documents
from procure.timeutil import as_utc, utcnow

# Grade thresholds on the 100-point total (lower bounds).
GRADE_BOUNDS = ((Decimal(90), Grade.EXCELLENT), (Decimal(80), Grade.GOOD), (Decimal(60), Grade.PASS))


@dataclass(frozen=True)
class ContractSettings:
    signing_days: int = 30
    warning_days: int = 5
    max_term_months: int = 12
    max_term_months_recurring: int = 36
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_config(cls, config) -> ContractSettings:
        return cls(
            signing_days=int(config["CONTRACT_SIGNING_DAYS"]),
            warning_days=int(config["CONTRACT_WARNING_DAYS"]),
            max_term_months=int(config["CONTRACT_MAX_TERM_MONTHS"]),
            max_term_months_recurring=int(config["CONTRACT_MAX_TERM_MONTHS_RECURRING"]),
            timezone=config.get("TIMEZONE", "Asia/Shanghai"),
        )


@dataclass(frozen=True)
class ContractData:
    number: str
    amount: str | Decimal
    signed_on: date | None
    starts_on: date | None
    ends_on: date | None
    recurring: bool
    filename: str
    data: bytes


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    import calendar

    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_limit(starts_on: date, recurring: bool, settings: ContractSettings) -> date:
    """The last day a term starting on ``starts_on`` may end on."""
    months = settings.max_term_months_recurring if recurring else settings.max_term_months
    from datetime import timedelta

    return add_months(starts_on, months) - timedelta(days=1)


def signing_deadline(award: Award, settings: ContractSettings) -> clocks.Deadline:
    return clocks.contract_deadline(award.notice_published_at, settings.signing_days, settings.timezone)


def record(
    session: Session,
    award: Award,
    data: ContractData,
    *,
    county_id: int,
    officer: User,
    settings: ContractSettings,
    upload_root: Path,
    max_bytes: int,
    now: datetime | None = None,
) -> Contract:
    """Record the signed contract and publish it as a contract notice."""
    now = as_utc(now or utcnow())
    if award.annulled_at is not None:
        raise DomainError(_l("成交结果已撤销，不能签订合同。"))
    if session.scalar(select(Contract.id).where(Contract.tender_id == award.tender_id)) is not None:
        raise DomainError(_l("本项目的合同已经登记。"))
    if challenge_services.pending(session, award.tender_id):
        raise DomainError(_l("本项目有未答复的质疑，答复前不能签订合同。"))
    if not clocks.is_in_time(as_utc(award.publicity_ends_at), now):
        raise DomainError(_l("成交结果公示期尚未结束。"))
    number = (data.number or "").strip()
    if not number or len(number) > 60:
        raise DomainError(_l("请填写合同编号（60 个字符以内）。"), field="number")
    try:
        amount = Decimal(str(data.amount).strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(_l("请填写合同金额（元）。"), field="amount") from None
    if not amount.is_finite() or amount <= 0 or amount > Decimal("999999999999.99"):
        raise DomainError(_l("请填写合同金额（元）。"), field="amount")
    if data.signed_on is None or data.starts_on is None or data.ends_on is None:
        raise DomainError(_l("请填写签订日期和服务期限。"), field="signed_on")
    deadline = signing_deadline(award, settings)
    notice_day = clocks.local_date(award.notice_published_at, settings.timezone)
    if data.signed_on < notice_day or data.signed_on > deadline.last_day:
        raise DomainError(
            _l("合同须在成交结果公告后 %(n)s 日内签订（%(first)s 至 %(last)s）。", n=settings.signing_days,
               first=notice_day.isoformat(), last=deadline.last_day.isoformat()),
            field="signed_on",
        )
    if data.signed_on > clocks.local_date(now, settings.timezone):
        raise DomainError(_l("签订日期不能晚于今天。"), field="signed_on")
    if data.ends_on < data.starts_on:
        raise DomainError(_l("服务期限的结束日期不能早于开始日期。"), field="ends_on")
    limit = term_limit(data.starts_on, data.recurring, settings)
    if data.ends_on > limit:
        months = settings.max_term_months_recurring if data.recurring else settings.max_term_months
        raise DomainError(_l("合同期限不能超过 %(m)s 个月（最晚至 %(d)s）。", m=months, d=limit.isoformat()),
                          field="ends_on")
    info = documents.sniff(data.data, max_bytes=max_bytes)
    stored = documents.store(Path(upload_root) / str(award.tender_id), data.data, info)
    contract = Contract(
        tender_id=award.tender_id,
        award_id=award.id,
        county_id=county_id,
        organization_id=award.organization_id,
        number=number,
        amount=amount,
        signed_on=data.signed_on,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        recurring=bool(data.recurring),
        filename=documents.clean_original_name(data.filename),
        stored_name=stored,
        sha256=info.sha256,
        recorded_by_id=officer.id,
        published_at=now,
    )
    session.add(contract)
    session.flush()
    tenderfacts.set_status(session, award.tender_id, tenderfacts.CONTRACTED)
    return contract


def contract_flag(award: Award, contract: Contract | None, settings: ContractSettings, now: datetime) -> str | None:
    """'overdue' past the signing limit, 'due_soon' from the warning days before
    it, None when signed or not yet near."""
    if contract is not None or award.annulled_at is not None:
        return None
    deadline = signing_deadline(award, settings)
    if not clocks.is_in_time(now, deadline):
        return "overdue"
    if not clocks.is_in_time(now, clocks.contract_warning_from(deadline, settings.warning_days)):
        return "due_soon"
    return None


def flag_due(session: Session, settings: ContractSettings, *, now: datetime | None = None) -> list[Award]:
    """Tell the county's officers (once per flag) of every award whose contract
    is due within the warning days or overdue. Idempotent: an award is told
    "due_soon" once and "overdue" once."""
    from datetime import timedelta

    from procure.challenges.services import _notify_officers
    from procure.tenders.models import Tender

    now = as_utc(now or utcnow())
    horizon = now + timedelta(days=settings.warning_days + 1)
    rows = session.execute(
        select(Award, Tender.county_id, Tender.title).join(Tender, Tender.id == Award.tender_id)
        .outerjoin(Contract, Contract.award_id == Award.id)
        .where(Award.annulled_at.is_(None), Contract.id.is_(None), Award.contract_flag != "overdue",
               Award.contract_deadline_at <= horizon)
        .order_by(Award.id).with_for_update(skip_locked=True, of=Award)
    ).all()
    flagged = []
    for award, county_id, title in rows:
        flag = contract_flag(award, None, settings, now)
        if flag is None or flag == award.contract_flag:
            continue
        award.contract_flag = flag
        deadline = signing_deadline(award, settings)
        _notify_officers(session, county_id, event_key=f"contract.{flag}:{award.id}", template="contract_due",
                         context={"tender_title": title, "overdue": flag == "overdue",
                                  "deadline": deadline.last_day.isoformat()},
                         link=f"/manage/tenders/{award.tender_id}/contract")
        flagged.append(award)
    session.flush()
    return flagged


# === performance evaluation ====================================================


@dataclass(frozen=True)
class IndicatorData:
    kind: str
    name: str
    maximum: str | Decimal
    score: str | Decimal


def grade_for(total: Decimal) -> Grade:
    for bound, grade in GRADE_BOUNDS:
        if total >= bound:
            return grade
    return Grade.FAIL


def record_performance(
    session: Session,
    contract: Contract,
    indicators: Sequence[IndicatorData],
    *,
    summary: str = "",
    report: tuple[str, bytes] | None = None,
    officer: User,
    upload_root: Path,
    max_bytes: int,
    now: datetime | None = None,
) -> PerformanceEvaluation:
    """Output, effect and satisfaction indicators with scores; the maxima sum
    to 100; total = sum of scores (two decimals, exact); grade by GRADE_BOUNDS."""
    clean = []
    for i, ind in enumerate(indicators):
        name = (ind.name or "").strip()
        if not name and not str(ind.score or "").strip():
            continue
        try:
            kind = IndicatorKind(ind.kind)
        except ValueError:
            raise DomainError(_l("指标类别无效。"), field=f"kind-{i}") from None
        if not name or len(name) > 200:
            raise DomainError(_l("请填写指标名称。"), field=f"name-{i}")
        try:
            maximum = Decimal(str(ind.maximum).strip())
            score = Decimal(str(ind.score).strip())
        except (InvalidOperation, ValueError):
            raise DomainError(_l("请填写指标分值和得分。"), field=f"score-{i}") from None
        if not maximum.is_finite() or maximum <= 0 or not scoring.is_valid_member_score(score, maximum):
            raise DomainError(_l("指标“%(n)s”的得分须在 0 到分值之间，最多两位小数。", n=name), field=f"score-{i}")
        clean.append((kind, name, maximum, score))
    if {k for k, *_ in clean} != set(IndicatorKind):
        raise DomainError(_l("须包含产出、效益和满意度三类指标。"), field="indicators")
    if sum((m for *_, m, _s in clean), Decimal(0)) != 100:
        raise DomainError(_l("各项指标分值之和须为 100。"), field="indicators")
    total = sum((s for *_, s in clean), Decimal(0)).quantize(Decimal("0.01"))
    evaluation = PerformanceEvaluation(
        contract_id=contract.id,
        tender_id=contract.tender_id,
        organization_id=contract.organization_id,
        total=total,
        grade=grade_for(total),
        summary=(summary or "").strip()[:5000],
        recorded_by_id=officer.id,
        published_at=as_utc(now or utcnow()),
    )
    if report is not None and report[1]:
        info = documents.sniff(report[1], max_bytes=max_bytes)
        evaluation.report_stored_name = documents.store(Path(upload_root) / str(contract.tender_id), report[1], info)
        evaluation.report_filename = documents.clean_original_name(report[0])
    session.add(evaluation)
    for kind, name, maximum, score in clean:
        evaluation.indicators.append(PerformanceIndicator(kind=kind, name=name, maximum=maximum, score=score))
    session.flush()
    tenderfacts.set_status(session, contract.tender_id, tenderfacts.EVALUATED)
    return evaluation
