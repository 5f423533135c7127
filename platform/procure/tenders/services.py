"""Tenders: drafting from a catalog item, the publishing rules, numbering,
amendments, cancellation, questions and answers, and the time-driven advance
(the opening). Services flush, never commit; every rule value comes from
``Rules`` (built from the configuration)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.accounts.models import Role, RoleAssignment, User
from procure.catalog import queries as catalog_queries
from procure.catalog.models import Item
from procure.clock import is_postgresql
from procure.errors import DomainError
from procure.geo.models import Division
from procure.notifications.services import notify
from procure.organizations.models import Organization
from procure.tenders.models import Amendment, Question, Tender, TenderCounter, TenderStatus
from procure.timeutil import as_utc, localtime
from procure.workdays import services as workdays

log = logging.getLogger(__name__)

MONEY_MAX = Decimal("999999999999.99")
TITLE_MAX = 200
TEXT_MAX = 20000
QUESTION_MAX = 2000


@dataclass(frozen=True)
class Rules:
    methods: Mapping[str, Mapping[str, Any]]
    price_weight_min: int
    price_weight_max: int
    enquiry_answer_workdays: int
    timezone: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Rules:
        return cls(
            methods=config["PROCUREMENT_METHODS"],
            price_weight_min=config["PRICE_WEIGHT_MIN"],
            price_weight_max=config["PRICE_WEIGHT_MAX"],
            enquiry_answer_workdays=config["ENQUIRY_ANSWER_WORKDAYS"],
            timezone=config["TIMEZONE"],
        )

    def local_date(self, moment: datetime) -> date:
        return localtime(moment, self.timezone).date()


@dataclass
class TenderData:
    township_id: int | None = None
    title: str = ""
    description: str = ""
    budget: Decimal | None = None
    max_price: Decimal | None = None
    service_start: date | None = None
    service_end: date | None = None
    service_place: str = ""
    method: str = "open_tender"
    undertaker_types: list[str] | None = None  # None: the item's
    mass_org_first: bool | None = None  # None: the item's flag
    min_bids: int | None = None  # None: the method's minimum
    enquiry_deadline: datetime | None = None
    bid_deadline: datetime | None = None
    evaluation_method: str = "comprehensive"
    criteria: list[dict] = field(default_factory=list)
    price_weight: int | None = None


@dataclass(frozen=True)
class Violation:
    field: str
    message: Any


class PublishRefused(DomainError):
    """A tender that breaks publishing rules; ``violations`` explains each."""

    def __init__(self, violations: list[Violation]):
        super().__init__(violations[0].message, field=violations[0].field)
        self.violations = violations


def parse_money(raw, *, field_name: str) -> Decimal | None:
    """Yuan as a Decimal with at most 2 decimals (never a float)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise DomainError(_l("请输入金额（元），例如 120000 或 120000.50。"), field=field_name) from None
    if not value.is_finite() or value <= 0 or value > MONEY_MAX or value.as_tuple().exponent < -2:
        raise DomainError(_l("金额必须大于 0，最多两位小数。"), field=field_name)
    return value.quantize(Decimal("0.01"))


# --- drafting ------------------------------------------------------------------


def _check_gate(session: Session, item: Item) -> None:
    """The catalog gate: only an item of the county's current published catalog."""
    current = catalog_queries.current_published(session, item.catalog.county_id)
    if current is None or current.id != item.catalog_id:
        raise DomainError(_l("只能采购本县现行已发布目录中的服务事项。"), field="item")


def _apply(session: Session, tender: Tender, data: TenderData, rules: Rules) -> None:
    item = tender.item
    if data.method not in rules.methods:
        raise DomainError(_l("请选择采购方式。"), field="method")
    township = session.get(Division, data.township_id) if data.township_id else None
    if township is None or township.parent_id != tender.county_id:
        raise DomainError(_l("请选择本县的乡镇。"), field="township_id")
    title = (data.title or "").strip()
    if not title or len(title) > TITLE_MAX:
        raise DomainError(_l("请输入项目名称（不超过 200 字）。"), field="title")
    if len(data.description or "") > TEXT_MAX or len(data.service_place or "") > 300:
        raise DomainError(_l("内容过长。"), field="description")
    types = sorted(set(item.undertaker_types if data.undertaker_types is None else data.undertaker_types))
    wider = set(types) - set(item.undertaker_types)
    if wider:
        raise DomainError(_l("承接主体类型不能超出目录事项规定的范围。"), field="undertaker_types")
    tender.township_id = township.id
    tender.title = title
    tender.description = (data.description or "").strip()
    tender.budget = data.budget
    tender.max_price = data.max_price
    tender.service_start = data.service_start
    tender.service_end = data.service_end
    tender.service_place = (data.service_place or "").strip()
    tender.method = data.method
    tender.undertaker_types = types
    tender.mass_org_first = bool(item.mass_org_first if data.mass_org_first is None else data.mass_org_first)
    tender.min_bids = data.min_bids if data.min_bids is not None else rules.methods[data.method]["min_bidders"]
    tender.enquiry_deadline = data.enquiry_deadline
    tender.bid_deadline = data.bid_deadline
    tender.evaluation_method = data.evaluation_method
    tender.criteria = [{"name": str(c.get("name", "")).strip()[:100], "weight": c.get("weight")}
                       for c in (data.criteria or [])]
    tender.price_weight = data.price_weight


def create_draft(session: Session, item: Item, data: TenderData, *, actor: User | None, rules: Rules) -> Tender:
    _check_gate(session, item)
    tender = Tender(county_id=item.catalog.county_id, item=item, created_by_id=actor.id if actor else None,
                    status=TenderStatus.DRAFT, criteria=[], undertaker_types=[], min_bids=0)
    _apply(session, tender, data, rules)
    session.add(tender)
    session.flush()
    return tender


def update_draft(session: Session, tender: Tender, data: TenderData, *, rules: Rules) -> Tender:
    if tender.status != TenderStatus.DRAFT:
        raise DomainError(_l("已发布的项目只能通过更正公告修改。"))
    _apply(session, tender, data, rules)
    session.flush()
    return tender


def delete_draft(session: Session, tender: Tender) -> None:
    if tender.status != TenderStatus.DRAFT:
        raise DomainError(_l("只能删除草稿。"))
    session.delete(tender)
    session.flush()


# --- publishing rules --------------------------------------------------------------


def minimum_deadline(session: Session, tender: Tender, now: datetime, rules: Rules) -> tuple[date, bool]:
    """The earliest local date the bid deadline may fall on, published ``now``,
    and whether it is provisional (working days in a year not entered)."""
    now = as_utc(now)
    method = rules.methods[tender.method]
    start = rules.local_date(now)
    if method["period_unit"] == "working_days":
        answer = workdays.working_days_after(session, start, method["min_period"])
        return answer.value, answer.provisional
    return start + timedelta(days=method["min_period"]), False


def check_publishable(session: Session, tender: Tender, now: datetime, rules: Rules) -> list[Violation]:
    """Every publishing rule the tender breaks, each explained on its field."""
    now = as_utc(now)
    out: list[Violation] = []
    method = rules.methods.get(tender.method)
    current = catalog_queries.current_published(session, tender.county_id)
    if current is None or current.id != tender.item.catalog_id:
        out.append(Violation("item", _l("该服务事项已不在本县现行发布的目录中，不能发布。")))
    if not tender.description:
        out.append(Violation("description", _l("请填写项目说明。")))
    if tender.budget is None:
        out.append(Violation("budget", _l("没有预算不能发布：请填写预算金额。")))
    if tender.max_price is None:
        out.append(Violation("max_price", _l("请填写最高限价。")))
    elif tender.budget is not None and tender.max_price > tender.budget:
        out.append(Violation("max_price", _l("最高限价不能高于预算金额。")))
    if tender.service_start is None or tender.service_end is None or tender.service_end < tender.service_start:
        out.append(Violation("service_end", _l("请填写服务期限，结束日期不能早于开始日期。")))
    if not tender.service_place:
        out.append(Violation("service_place", _l("请填写服务地点。")))
    if not tender.undertaker_types:
        out.append(Violation("undertaker_types", _l("请至少选择一种承接主体类型。")))
    if tender.mass_org_first and not tender.item.mass_org_first:
        out.append(Violation("mass_org_first", _l("该目录事项没有“群团组织优先承接”标记。")))
    if method is not None and tender.min_bids < method["min_bidders"]:
        out.append(Violation("min_bids", _l("该采购方式至少需要 %(n)d 家投标人。", n=method["min_bidders"])))
    if tender.bid_deadline is None:
        out.append(Violation("bid_deadline", _l("请填写投标截止时间。")))
    elif method is not None:
        earliest, provisional = minimum_deadline(session, tender, now, rules)
        if rules.local_date(tender.bid_deadline) < earliest:
            unit = _l("个工作日") if method["period_unit"] == "working_days" else _l("天")
            out.append(Violation("bid_deadline", _l(
                "%(method)s 从公告发布到投标截止不得少于 %(n)d%(unit)s：截止日期最早为 %(date)s%(note)s。",
                method=_method_label(tender.method), n=method["min_period"], unit=unit,
                date=earliest.isoformat(), note=_l("（暂定）") if provisional else "")))
    if tender.enquiry_deadline is None:
        out.append(Violation("enquiry_deadline", _l("请填写提问截止时间。")))
    elif tender.bid_deadline is not None and as_utc(tender.enquiry_deadline) >= as_utc(tender.bid_deadline):
        out.append(Violation("enquiry_deadline", _l("提问截止时间必须早于投标截止时间。")))
    elif as_utc(tender.enquiry_deadline) <= now:
        out.append(Violation("enquiry_deadline", _l("提问截止时间必须晚于现在。")))
    out.extend(_criteria_violations(tender, rules))
    return out


def _method_label(method: str):
    from procure.tenders.models import METHOD_LABELS

    return METHOD_LABELS.get(method, method)


def _criteria_violations(tender: Tender, rules: Rules) -> list[Violation]:
    method = rules.methods.get(tender.method)
    if method is not None and tender.evaluation_method not in method["evaluation"]:
        return [Violation("evaluation_method", _l("该采购方式不能使用所选评审方法。"))]
    if tender.evaluation_method != "comprehensive":
        return []
    out = []
    pw = tender.price_weight
    if pw is None or not rules.price_weight_min <= pw <= rules.price_weight_max:
        out.append(Violation("price_weight", _l(
            "服务项目的价格分权重应在 %(lo)d%% 至 %(hi)d%% 之间。", lo=rules.price_weight_min,
            hi=rules.price_weight_max)))
    criteria = tender.criteria or []
    if not criteria:
        out.append(Violation("criteria", _l("综合评分法需要列出价格以外的评分因素及其权重。")))
        return out
    names = [c.get("name") for c in criteria]
    weights = [c.get("weight") for c in criteria]
    if any(not n for n in names) or len(set(names)) != len(names):
        out.append(Violation("criteria", _l("每个评分因素都需要不重复的名称。")))
    if any(not isinstance(w, int) or isinstance(w, bool) or w <= 0 for w in weights):
        out.append(Violation("criteria", _l("每个评分因素的权重必须是正整数。")))
    elif sum(weights) + (pw or 0) != 100:
        out.append(Violation("criteria", _l(
            "评分因素权重与价格分权重之和必须等于 100（现在是 %(total)d）。", total=sum(weights) + (pw or 0))))
    return out


def next_public_number(session: Session, county: Division, year: int) -> str:
    """The next number of the county's year, under a row lock on its counter:
    concurrent publications wait for each other, none is skipped or shared."""
    values = {"county_id": county.id, "year": year, "last": 0}
    if is_postgresql(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(TenderCounter).values(**values).on_conflict_do_nothing())
    counter = session.execute(
        select(TenderCounter)
        .where(TenderCounter.county_id == county.id, TenderCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    counter.last += 1
    session.flush()
    return f"{county.code}-{year}-{counter.last:04d}"


def publish(session: Session, tender: Tender, *, actor: User | None, now: datetime, rules: Rules) -> Tender:
    now = as_utc(now)
    if tender.status != TenderStatus.DRAFT:
        raise DomainError(_l("该项目已经发布。"))
    violations = check_publishable(session, tender, now, rules)
    if violations:
        raise PublishRefused(violations)
    tender.public_number = next_public_number(session, tender.county, rules.local_date(now).year)
    tender.status = TenderStatus.TENDERING
    tender.published_at = now
    tender.published_by_id = actor.id if actor else None
    tender.next_due_at = tender.bid_deadline
    session.flush()
    return tender


# --- amendments, cancellation --------------------------------------------------------

AMENDABLE = ("description", "bid_deadline", "enquiry_deadline", "max_price", "service_place", "service_start",
             "service_end")


def lock(session: Session, tender: Tender, *, read: bool = False) -> Tender:
    """Re-read the tender under a row lock (FOR UPDATE, or FOR SHARE)."""
    return session.execute(
        select(Tender).where(Tender.id == tender.id).with_for_update(read=read, of=Tender)
        .execution_options(populate_existing=True)
    ).scalar_one()


def amend(session: Session, tender: Tender, changes: Mapping[str, Any], *, summary: str, actor: User | None,
          now: datetime, rules: Rules) -> Amendment:
    """Publish an amendment notice (更正公告). One published later than the
    configured days before the bid deadline must move the deadline so that
    at least that many days remain. Bidders that already submitted are told
    and must confirm or revise their bid."""
    now = as_utc(now)
    tender = lock(session, tender)
    if tender.status != TenderStatus.TENDERING or as_utc(tender.bid_deadline) <= now:
        raise DomainError(_l("只有投标截止前的招标项目可以发布更正公告。"))
    summary = (summary or "").strip()
    if not summary or len(summary) > TEXT_MAX:
        raise DomainError(_l("请说明更正的内容。"), field="summary")
    unknown = set(changes) - set(AMENDABLE)
    if unknown:
        raise DomainError(_l("这些内容不能通过更正公告修改。"), field=sorted(unknown)[0])
    record = []
    for name, new in changes.items():
        old = getattr(tender, name)
        if old != new:
            record.append({"field": name, "old": _plain(old), "new": _plain(new)})
            setattr(tender, name, new)
    if not record:
        raise DomainError(_l("更正公告没有改变任何内容。"), field="summary")
    min_days = rules.methods[tender.method]["amend_min_days"]
    if as_utc(tender.bid_deadline) < now + timedelta(days=min_days):
        raise DomainError(_l(
            "更正公告发布时距投标截止不足 %(n)d 天：必须把投标截止时间延后到 %(date)s 之后。",
            n=min_days, date=localtime(now + timedelta(days=min_days), rules.timezone).strftime("%Y-%m-%d %H:%M")),
            field="bid_deadline")
    if tender.max_price is not None and tender.budget is not None and tender.max_price > tender.budget:
        raise DomainError(_l("最高限价不能高于预算金额。"), field="max_price")
    if tender.enquiry_deadline is not None and as_utc(tender.enquiry_deadline) >= as_utc(tender.bid_deadline):
        raise DomainError(_l("提问截止时间必须早于投标截止时间。"), field="enquiry_deadline")
    tender.amendment_count += 1
    tender.next_due_at = tender.bid_deadline
    amendment = Amendment(tender=tender, number=tender.amendment_count, summary=summary, changes=record,
                          published_at=now, published_by_id=actor.id if actor else None)
    session.add(amendment)
    session.flush()
    _tell_interested(session, tender, f"tender:{tender.id}:amendment:{amendment.number}", "tender_amended",
                  {"number": amendment.number, "summary": summary})
    return amendment


def _plain(value):
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, (date, Decimal)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def cancel(session: Session, tender: Tender, *, reason: str, actor: User | None, now: datetime) -> Tender:
    """Cancellation notice (终止公告) with a public reason, any time before the
    contract (after the award: when a challenge against it was upheld)."""
    now = as_utc(now)
    tender = lock(session, tender)
    if tender.status not in (TenderStatus.TENDERING, TenderStatus.OPENED, TenderStatus.HALTED,
                             TenderStatus.EVALUATING, TenderStatus.AWARDED):
        raise DomainError(_l("该项目不能终止。"))
    reason = (reason or "").strip()
    if not reason or len(reason) > TEXT_MAX:
        raise DomainError(_l("请填写终止的理由（将公开）。"), field="reason")
    tender.status = TenderStatus.CANCELLED
    tender.cancel_reason = reason
    tender.cancelled_at = now
    tender.next_due_at = None
    session.flush()
    _tell_interested(session, tender, f"tender:{tender.id}:cancelled", "tender_cancelled", {"reason": reason})
    return tender


def _members_of(session: Session, org_ids: set[int], *, exclude_user_ids: set[int] = frozenset()) -> list[User]:
    """Each member (admin or member) of these organizations, once."""
    if not org_ids:
        return []
    users = session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.organization_id.in_(sorted(org_ids)),
               RoleAssignment.role.in_([Role.ORG_ADMIN, Role.ORG_MEMBER]))
        .order_by(User.id)
    ).unique().all()
    return [u for u in users if u.id not in exclude_user_ids]


def bidding_organizations(session: Session, tender: Tender) -> set[int]:
    """Organizations holding a bid on the tender (draft, submitted or withdrawn)."""
    from procure.bids.models import Bid

    return set(session.scalars(select(Bid.organization_id).where(Bid.tender_id == tender.id)))


def interested_organizations(session: Session, tender: Tender) -> set[int]:
    """Everyone interested in the tender's answers, amendments and cancellation:
    organizations that bid, hold a draft, or asked a question."""
    askers = set(session.scalars(select(Question.organization_id).where(Question.tender_id == tender.id)))
    return bidding_organizations(session, tender) | askers


def _tell(session: Session, tender: Tender, users: list[User], event: str, template: str, context: dict) -> None:
    """One notification per user and event (the user id is in the key). The
    context is the tender's public facts only: never any bid's content."""
    for user in users:
        notify(session, event_key=f"{event}:user:{user.id}", template=template, recipient=user,
               context={"tender_title": tender.title, "public_number": tender.public_number or "", **context},
               link=f"/tenders/{tender.id}")


def _tell_bidders(session: Session, tender: Tender, event: str, template: str, context: dict) -> None:
    """Members of every organization holding a bid (draft, submitted or withdrawn)."""
    _tell(session, tender, _members_of(session, bidding_organizations(session, tender)), event, template, context)


def _tell_interested(session: Session, tender: Tender, event: str, template: str, context: dict, *,
                     exclude_user_ids: set[int] = frozenset()) -> None:
    """Members of every organization that bid, holds a draft or asked a question."""
    users = _members_of(session, interested_organizations(session, tender), exclude_user_ids=exclude_user_ids)
    _tell(session, tender, users, event, template, context)


# --- questions ------------------------------------------------------------------------


def ask(session: Session, tender: Tender, *, organization: Organization, user: User, text: str, now: datetime,
        rules: Rules) -> Question:
    now = as_utc(now)
    from procure.organizations.services import bid_eligibility

    if tender.status != TenderStatus.TENDERING or tender.enquiry_deadline is None \
            or now >= as_utc(tender.enquiry_deadline):
        raise DomainError(_l("提问已截止。"), field="text")
    if not bid_eligibility(organization, today=rules.local_date(now))[0]:
        raise DomainError(_l("只有已认证机构的成员可以提问。"), field="text")
    text = (text or "").strip()
    if not text or len(text) > QUESTION_MAX:
        raise DomainError(_l("请输入问题（不超过 2000 字）。"), field="text")
    due = workdays.working_days_after(session, rules.local_date(now), rules.enquiry_answer_workdays)
    question = Question(tender=tender, organization_id=organization.id, asked_by_id=user.id, text=text,
                        asked_at=now, answer_due=due.value, answer_due_provisional=due.provisional)
    session.add(question)
    session.flush()
    return question


def answer(session: Session, question: Question, *, actor: User | None, text: str, now: datetime) -> Question:
    now = as_utc(now)
    if question.answered_at is not None:
        raise DomainError(_l("该问题已经回答。"), field="text")
    text = (text or "").strip()
    if not text or len(text) > TEXT_MAX:
        raise DomainError(_l("请输入回答。"), field="text")
    question.answer = text
    question.answered_at = now
    question.answered_by_id = actor.id if actor else None
    session.flush()
    asker = session.get(User, question.asked_by_id) if question.asked_by_id else None
    if asker is not None:
        notify(session, event_key=f"question:{question.id}:answered", template="question_answered",
               recipient=asker, context={"tender_title": question.tender.title, "question": question.text,
                                         "answer": text}, link=f"/tenders/{question.tender_id}")
    # Everyone else interested (bidders, drafts, askers) reads the answer too,
    # without the asker's identity (the question is public without it).
    _tell_interested(session, question.tender, f"question:{question.id}:published", "question_answer_published",
                     {"question": question.text, "answer": text},
                     exclude_user_ids={asker.id} if asker is not None else set())
    return question


def recompute_provisional_deadlines(session: Session, *, now: datetime, rules: Rules) -> int:
    """After a year is entered: unanswered questions whose answer due date was
    provisional and has not passed get it recomputed; the county's officers
    are told when it changed. Returns how many due dates were recomputed."""
    now = as_utc(now)
    today = rules.local_date(now)
    questions = session.scalars(
        select(Question).where(Question.answer_due_provisional.is_(True), Question.answered_at.is_(None),
                               Question.answer_due >= today).with_for_update()
    ).all()
    for q in questions:
        due = workdays.working_days_after(session, rules.local_date(q.asked_at), rules.enquiry_answer_workdays)
        old = q.answer_due
        q.answer_due, q.answer_due_provisional = due.value, due.provisional
        if old != due.value:
            for officer in county_officers(session, q.tender.county_id):
                notify(session, event_key=f"question:{q.id}:due:{due.value.isoformat()}:user:{officer.id}",
                       template="deadline_recomputed", recipient=officer,
                       context={"tender_title": q.tender.title, "old_due": old.isoformat(),
                                "new_due": due.value.isoformat()},
                       link=f"/manage/tenders/{q.tender_id}")
    session.flush()
    return len(questions)


def county_officers(session: Session, county_id: int) -> list[User]:
    return list(session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COUNTY_OFFICER, RoleAssignment.division_id == county_id)
    ).unique())


# --- the advance (time-driven transitions) ---------------------------------------------


def advance_due(session: Session, *, now: datetime, keys: Mapping[str, bytes]) -> dict[int, str]:
    """Advance every tender whose next due time has come, each under a row
    lock (FOR UPDATE SKIP LOCKED on PostgreSQL: a tender being advanced by
    another process is left to it). Idempotent: an advanced tender has no
    due time left, so running again changes nothing. An integrity error
    halts that tender only. Returns {tender id: new status}. Flushes."""
    now = as_utc(now)
    from procure.bids import opening

    due = session.scalars(
        select(Tender)
        .where(Tender.next_due_at.is_not(None), Tender.next_due_at <= now, Tender.status == TenderStatus.TENDERING)
        .order_by(Tender.next_due_at, Tender.id)
        .with_for_update(skip_locked=True, of=Tender)
        .execution_options(populate_existing=True)
    ).all()
    results: dict[int, str] = {}
    for tender in due:
        results[tender.id] = opening.open_bids(session, tender, now=now, keys=keys).value
    return results
