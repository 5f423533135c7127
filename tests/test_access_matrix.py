"""THE ACCESS MATRIX: every route of the application × every role.

Each endpoint of ``app.url_map`` has exactly one entry in ``MATRIX``: how to
build its URL from the objects of a small world (``World``), and the outcome
expected for each role. ``test_matrix_lists_every_route`` fails when a route
exists that the matrix does not list (so a new route must be added here, with
its expected outcomes) and when a listed endpoint no longer exists.
``test_access`` requests every endpoint as every role and compares.

Reading an entry::

    Route("catalog.manage_catalog", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog)

  - the endpoint name;
  - the expected outcomes, made by a rule helper (``public``, ``signed_in``,
    ``county_officer``, ``org_admin_only``, ...) with per-role overrides as
    keyword arguments (``admin=OK``);
  - the URL arguments: ``W.<name>`` is an attribute of the ``World`` built for
    the test (ids of real objects), anything else is used as it is.

The request is a GET when the route has one, otherwise a POST with a valid
CSRF token and ``data`` (empty by default: a refused request must be refused
before any form is read, an allowed one typically answers with a form error or
a redirect). Each entry runs against a fresh world, so a POST that changes
something does not disturb the next entry.

Outcomes: ``OK`` (200), ``FORBIDDEN`` (403), ``NOT_FOUND`` (404), ``BAD``
(400), ``LOGIN`` (redirect to the login form), ``CONFIRM`` (redirect to the
"please confirm your email" page), ``to("/path")`` (a redirect there) and
``REDIRECT`` (a redirect anywhere). The "unconfirmed" role (signed in, email
not confirmed) is derived from the anonymous one unless given: wherever an
anonymous visitor is sent to the login form, an unconfirmed user is sent to
the confirmation page; elsewhere both get the same answer.

Every response must also carry the security headers, and every HTML page must
be free of inline script and style (the CSP would block them).
"""
from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from procure.accounts import services as account_services
from procure.accounts.models import Role
from procure.catalog.models import Category, Item
from tests import factories
from tests.test_security_headers import assert_csp_clean, assert_secure_headers

# === outcomes ===================================================================


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int
    location: str | None = None  # path the redirect goes to (prefix), None: anywhere

    def matches(self, response) -> bool:
        if response.status_code != self.status:
            return False
        if self.location is None:
            return True
        return urlsplit(response.headers.get("Location", "")).path.startswith(self.location)

    def __str__(self) -> str:
        if self.status == 302:
            return f"→{self.location or '*'}"
        return str(self.status)


def to(path: str) -> Outcome:
    return Outcome(302, path)


OK = Outcome(200)
BAD = Outcome(400)
FORBIDDEN = Outcome(403)
NOT_FOUND = Outcome(404)
REDIRECT = Outcome(302)
LOGIN = to("/account/login")
CONFIRM = to("/account/unconfirmed")

# === roles ======================================================================

# The order is the order of the requests: the roles most likely to be allowed
# (and so to change something with a POST) come last.
ROLES = (
    "anonymous",
    "unconfirmed",  # signed in, email not confirmed yet
    "other_officer",  # county officer of 371302 (another county)
    "township",  # township officer of 371321101 (in 371321)
    "evaluator",
    "org_member",  # member of a verified organization of 371321
    "org_admin",  # its administrator
    "admin",  # platform admin
    "officer",  # county officer of 371321, the world's county
)


def rule(*, anonymous: Outcome, default: Outcome, unconfirmed: Outcome | None = None, **roles: Outcome):
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    if unconfirmed is None:
        unconfirmed = CONFIRM if anonymous == LOGIN else anonymous
    expected = {role: default for role in ROLES}
    expected.update(anonymous=anonymous, unconfirmed=unconfirmed, **roles)
    return expected


def public(ok: Outcome = OK, **roles):
    """Everyone, signed in or not, gets ``ok``."""
    return rule(anonymous=ok, default=ok, **roles)


def signed_in(ok: Outcome = OK, **roles):
    """Any signed-in user with a confirmed email."""
    return rule(anonymous=LOGIN, default=ok, **roles)


def county_officer(ok: Outcome = OK, denied: Outcome = FORBIDDEN, **roles):
    """Officers of the county (371321) only; every other signed-in user gets ``denied``."""
    return rule(anonymous=LOGIN, default=denied, officer=ok, **roles)


def officers_and_admin(ok: Outcome = OK, denied: Outcome = FORBIDDEN, **roles):
    """Any county officer and the platform admin."""
    return rule(anonymous=LOGIN, default=denied, officer=ok, other_officer=ok, admin=ok, **roles)


def org_members(ok: Outcome = OK, denied: Outcome = NOT_FOUND, **roles):
    """Members (and admins) of an organization, about their own organization."""
    return rule(anonymous=LOGIN, default=denied, org_member=ok, org_admin=ok, **roles)


def org_admin_only(ok: Outcome = REDIRECT, member: Outcome = FORBIDDEN, denied: Outcome = NOT_FOUND, **roles):
    """The organization's administrator; its plain members get ``member``,
    users of no organization ``denied``."""
    return rule(anonymous=LOGIN, default=denied, org_admin=ok, org_member=member, **roles)


# === the world ==================================================================


class _W:
    """``W.name``: the attribute ``name`` of the test's World."""

    def __getattr__(self, name: str):
        return Ref(name)


@dataclasses.dataclass(frozen=True)
class Ref:
    name: str


W = _W()


@dataclasses.dataclass
class World:
    tokens: dict[str, str]  # role -> token of a login session of its user
    county: str
    other_county: str
    published_catalog: int
    published_item: int
    draft_catalog: int
    draft_category: int
    draft_leaf_category: int
    draft_item: int
    organization: int
    pending_organization: int
    pending_code: str
    conflicted_organization: int  # pending, of 371321; the officer is a former member
    moved_suspended_organization: int  # suspended by 371321's officer, now in 371302
    document: int
    member_assignment: int
    invitation: int
    invitation_token: str
    notification: int
    officer_user: int
    confirm_token: str
    reset_token: str
    follow: int
    unsubscribe_token: str
    failed_notification: int
    tender: int = 0
    draft_tender: int = 0
    tender_document: int = 0
    question: int = 0
    bid: int = 0
    bid_file: int = 0
    # The evaluation world (issue 11), built for the read-only entries only
    # (``_evaluation_world``): no mutating entry may use these.
    evaluated_tender: int = 0
    evaluation: int = 0
    challenge: int = 0
    challenge_file: int = 0
    performance: int = 0


_FAST_HASH: dict[str, str] = {}


def _build_world(app, session, monkeypatch) -> World:
    from procure.notifications import services as notification_services
    from procure.organizations import services as org_services
    from tests.organizations import files

    # One scrypt hash and no strength estimate for the users of the world
    # (all have the same good password): keeps the world cheap to build.
    # The matrix signs users in through the session, not the login form.
    if not _FAST_HASH:
        _FAST_HASH["hash"] = account_services.hash_password(factories.PASSWORD)
    monkeypatch.setattr(account_services, "hash_password", lambda _password: _FAST_HASH["hash"])
    monkeypatch.setattr(account_services, "check_password_strength", lambda *_args, **_kw: None)
    # Emails are beside the point here: notifications stay in the outbox.
    monkeypatch.setattr(notification_services, "dispatch", lambda _ids: None)

    officer = factories.officer("371321")
    users = {
        "unconfirmed": factories.user(confirmed=False),
        "other_officer": factories.officer("371302"),
        "township": factories.township_officer("371321101"),
        "evaluator": factories.user(Role.EVALUATOR),
        "admin": factories.admin(),
        "officer": officer,
    }
    org_admin = factories.user()
    org = factories.organization("371321", status="verified", admin_user=org_admin, officer_user=officer)
    users["org_admin"] = org_admin
    users["org_member"] = factories.org_member(org)
    pending = factories.organization("371321", status="pending")
    # Separation of duties: the world's officer once belonged to this one.
    from procure.organizations.models import FormerMembership

    conflicted = factories.organization("371321", status="pending")
    session.add(FormerMembership(organization_id=conflicted.id, user_id=officer.id, role="org_member"))
    # A suspension follows the organization: imposed by 371321, which alone
    # (with the admin) lifts it after the organization moved to 371302.
    moved = factories.organization("371321", status="verified", officer_user=officer)
    today = org_services.local_today(app.config["TIMEZONE"])
    org_services.suspend(session, moved, officer=officer, reason="失信", until=today + timedelta(days=30), today=today)
    moved.county_id = factories.county("371302").id
    session.commit()

    settings = org_services.UploadSettings(root=Path(app.instance_path) / "uploads" / "organizations", max_bytes=10**6)
    document = org_services.add_document(
        session, org, org_services.Upload("registration_certificate", "证书.pdf", files.pdf()),
        uploaded_by=org_admin, settings=settings,
    )
    invitation, invitation_token = org_services.invite(
        session, org, email="invitee@example.com", invited_by=org_admin, timezone="Asia/Shanghai"
    )
    member_assignment = next(r for r in users["org_member"].roles if r.organization_id == org.id)
    tokens = {role: account_services.start_session(session, user) for role, user in users.items()}  # login sessions
    notification = notification_services.notify(
        session, event_key="access-matrix", template="test_message", context={"title": "矩阵", "message": "测试"},
        recipient=officer,
    )
    failed = notification_services.notify(
        session, event_key="access-matrix-failed", template="test_message",
        context={"title": "失败", "message": "测试"}, recipient=officer,
    )
    failed.email_status = "failed"
    failed.email_attempts = 99
    from procure.alerts import preferences as alert_preferences
    from procure.alerts import services as alert_services

    follow = alert_services.follow(session, org, county=factories.county("371321"))
    session.commit()

    published = factories.catalog_with_items("371321", 2026)
    draft = factories.catalog_with_items("371321", 2027, publish=False)
    published_item = session.scalars(_items_of(published.id)).first()
    draft_item = session.scalars(_items_of(draft.id)).first()
    draft_top = session.scalar(
        select(Category.id).where(Category.catalog_id == draft.id, Category.parent_id.is_(None)).order_by(Category.id)
    )

    tender_ids = _tender_world(app, session, org, users["org_member"], published_item)

    return World(
        **tender_ids,
        tokens=tokens,
        county="371321",
        other_county="371302",
        published_catalog=published.id,
        published_item=published_item.id,
        draft_catalog=draft.id,
        draft_category=draft_top,
        draft_leaf_category=draft_item.category_id,
        draft_item=draft_item.id,
        organization=org.id,
        pending_organization=pending.id,
        pending_code=pending.credit_code,
        conflicted_organization=conflicted.id,
        moved_suspended_organization=moved.id,
        document=document.id,
        member_assignment=member_assignment.id,
        invitation=invitation.id,
        invitation_token=invitation_token,
        notification=notification.id,
        officer_user=officer.id,
        confirm_token=account_services.confirmation_token(users["unconfirmed"]),
        reset_token=account_services.reset_token(officer),
        follow=follow.id,
        unsubscribe_token=alert_preferences.unsubscribe_token(org_admin.id, alert_preferences.TENDER_ALERTS, app.config),
        failed_notification=failed.id,
    )


def _tender_world(app, session, org, member, item) -> dict[str, int]:
    """A published tender (with a document, a question and the organization's
    submitted bid with an attachment) and a draft tender of 371321101."""
    from procure.bids import services as bid_services
    from procure.tenders import services as tender_services
    from procure.tenders.models import TenderDocument
    from tests.tenders import builders

    tender = builders.published(the_item=item)
    draft = builders.draft(the_item=item)
    doc = TenderDocument(tender_id=tender.id, filename="招标文件.pdf", content_type="application/pdf", size=10,
                         sha256="0" * 64, stored_name="missing.pdf")
    session.add(doc)
    question = tender_services.ask(session, tender, organization=org, user=member, text="问题", now=builders.utcnow(),
                                   rules=builders.rules())
    bid = bid_services.get_or_create(session, tender, org, today=builders.TODAY)
    bid_file = bid_services.add_file(session, bid, filename="a.pdf", data=builders.PDF, max_bytes=10**6,
                                     max_count=5, limits=builders.limits(), sealer=builders.sealer())
    content = bid_services.read_draft(bid, builders.sealer())
    content.price, content.technical = builders.PRICE, "方案"
    content.declarations = {k: True for k in bid_services.DECLARATIONS}
    bid_services.save_draft(session, bid, content, sealer=builders.sealer())
    bid_services.submit(session, bid, user=member, sealer=builders.sealer())
    session.commit()
    return dict(tender=tender.id, draft_tender=draft.id, tender_document=doc.id, question=question.id, bid=bid.id,
                bid_file=bid_file.id)


def _evaluation_world(app, session, world: World) -> World:
    """A tender of 371321101 taken to the end: the world's organization and two
    others bid; the "evaluator" chairs the committee (with a second evaluator),
    both submit their sheets; the chair reports; the top bid is awarded ten days
    ago; the world's organization challenges the result (with an evidence
    file, answered); the contract and a performance evaluation with its report
    are published."""
    from datetime import timedelta

    from procure.accounts.models import LoginSession, User
    from procure.catalog.models import Item
    from procure.challenges import services as challenges
    from procure.challenges.views import upload_root as challenge_root
    from procure.contracts import services as contracts
    from procure.contracts.views import upload_root as contract_root
    from procure.evaluation import clocks
    from procure.organizations.models import Organization
    from procure.timeutil import utcnow
    from tests.evaluation import world as eval_world
    from tests.organizations import files

    def user(role):
        return session.scalar(select(User).join(LoginSession, LoginSession.user_id == User.id)
                              .where(LoginSession.token_hash == account_services.hash_login_token(world.tokens[role])))

    org = session.get(Organization, world.organization)
    w = eval_world.build(bidders=[(org, user("org_member"))], the_item=session.get(Item, world.published_item))
    w.evaluators[0] = user("evaluator")
    at = utcnow() - timedelta(days=10)
    ev, award = eval_world.awarded(session, w, now=at)
    with app.test_request_context():
        challenge = challenges.file(
            session, w.facts, organization_id=org.id, bidder_org_ids={o.id for o in w.orgs}, user=user("org_member"),
            subject="result", text="评分不公", evidence=[challenges.Evidence("证明.pdf", files.pdf())], award=award,
            add_workdays=clocks.platform_calendar(session), settings=challenges.ChallengeSettings(),
            upload_root=challenge_root(), max_bytes=10**6, now=at + timedelta(hours=1),
        )
        challenges.reply(session, challenge, officer=w.officer, upheld=False, text="不成立", now=at + timedelta(days=1))
        today = clocks.local_date(utcnow(), "Asia/Shanghai")
        contract = contracts.record(
            session, award, contracts.ContractData("HT-1", award.amount, today, today, today + timedelta(days=100),
                                                   False, "合同.pdf", files.pdf()),
            county_id=w.facts.county_id, officer=w.officer, settings=contracts.ContractSettings(),
            upload_root=contract_root(), max_bytes=10**6,
        )
        performance = contracts.record_performance(session, contract, [
            contracts.IndicatorData("output", "产出", "40", "35"), contracts.IndicatorData("effect", "效益", "30", "25"),
            contracts.IndicatorData("satisfaction", "满意度", "30", "25"),
        ], report=("报告.pdf", files.pdf()), officer=w.officer, upload_root=contract_root(), max_bytes=10**6)
    session.commit()
    return dataclasses.replace(world, evaluated_tender=w.tender.id, evaluation=ev.id, challenge=challenge.id,
                               challenge_file=challenge.files[0].id, performance=performance.id)


def _items_of(catalog_id: int):
    return (
        select(Item).join(Category, Item.category_id == Category.id)
        .where(Category.catalog_id == catalog_id).order_by(Item.id)
    )


# === the matrix =================================================================


@dataclasses.dataclass(frozen=True)
class Route:
    endpoint: str
    expected: dict
    method: str | None
    data: dict | None
    mutates: bool
    case: str
    args: dict

    def __init__(self, endpoint, expected, *, method=None, data=None, mutates=False, case="", **args):
        """``mutates``: an allowed request changes stored data (so the entry
        gets a world of its own); ``case``: a second entry for the same
        endpoint (e.g. a draft and a published catalog)."""
        for name, value in dict(endpoint=endpoint, expected=expected, method=method, data=data, mutates=mutates,
                                case=case, args=args).items():
            object.__setattr__(self, name, value)

    @property
    def key(self) -> str:
        return f"{self.endpoint}#{self.case}" if self.case else self.endpoint


MATRIX_ENTRIES = [
    # --- site ------------------------------------------------------------------
    Route("site.home", public()),
    Route("site.healthz", public()),
    Route("site.set_language", public(REDIRECT), code="en", mutates=True),  # stores the user's choice
    Route("site.set_text_size", public(REDIRECT), data={"size": "large"}, mutates=True),  # 大字版, kept in the account
    Route("static", public(), filename="procure.css"),
    Route("bootstrap.static", public(), filename="css/bootstrap.min.css"),
    # --- accounts --------------------------------------------------------------
    Route("accounts.login", public()),
    Route("accounts.logout", public(to("/")), mutates=True),  # revokes the login session
    Route("accounts.change_password", signed_in()),
    Route("accounts.unconfirmed", rule(anonymous=LOGIN, unconfirmed=OK, default=to("/"))),
    # Sends a new link to the unconfirmed user; everyone else is sent on (the
    # page itself then sends anonymous visitors to the login form).
    Route("accounts.resend_confirmation", public(CONFIRM), mutates=True),
    # The link confirms whoever opens it first (here: the anonymous visitor,
    # sent to log in); afterwards it is used up.
    Route("accounts.confirm_email", rule(anonymous=LOGIN, unconfirmed=BAD, default=BAD), token=W.confirm_token,
          mutates=True),
    Route("accounts.reset_request", public()),
    Route("accounts.reset_password", public(), token=W.reset_token),
    Route("accounts.users", signed_in(FORBIDDEN, admin=OK)),
    Route("accounts.officials", signed_in(FORBIDDEN, admin=OK)),
    # The admin's request disables the officer (no "active=1"), so the officer,
    # asked last, is no longer signed in.
    Route("accounts.set_official_active", signed_in(FORBIDDEN, admin=REDIRECT, officer=LOGIN),
          user_id=W.officer_user, mutates=True),
    # --- the working calendar (platform admin) -----------------------------------
    Route("workdays.index", signed_in(FORBIDDEN, admin=OK)),
    # --- notifications (the inbox) ----------------------------------------------
    Route("notifications.index", signed_in()),
    Route("notifications.show", signed_in(NOT_FOUND, officer=OK), notification_id=W.notification,
          mutates=True),  # marks it read
    Route("notifications.read_all", signed_in(REDIRECT), mutates=True),
    # --- catalogs: public pages --------------------------------------------------
    Route("catalog.county", public(), code=W.county),
    Route("catalog.county_year", public(), code=W.county, year=2026),
    Route("catalog.public_catalog", public(), catalog_id=W.published_catalog),
    Route("catalog.public_catalog", public(NOT_FOUND), catalog_id=W.draft_catalog, case="draft"),
    Route("catalog.public_item", public(), item_id=W.published_item),
    Route("catalog.public_item", public(NOT_FOUND), item_id=W.draft_item, case="draft"),
    # --- catalogs: management by the county's officers ---------------------------
    Route("catalog.manage_index", county_officer(other_officer=OK)),  # each officer sees their own county
    Route("catalog.manage_create_draft", county_officer(REDIRECT), code=W.county),
    Route("catalog.manage_catalog", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog),
    Route("catalog.manage_catalog", county_officer(), catalog_id=W.published_catalog, case="published"),
    Route("catalog.manage_add_category", county_officer(REDIRECT, denied=NOT_FOUND), catalog_id=W.draft_catalog),
    Route("catalog.manage_category", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog,
          category_id=W.draft_category),
    Route("catalog.manage_rename_category", county_officer(REDIRECT, denied=NOT_FOUND), catalog_id=W.draft_catalog,
          category_id=W.draft_category),
    Route("catalog.manage_delete_category", county_officer(REDIRECT, denied=NOT_FOUND), catalog_id=W.draft_catalog,
          category_id=W.draft_category, mutates=True),
    Route("catalog.manage_add_item", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog,
          category_id=W.draft_leaf_category),
    Route("catalog.manage_edit_item", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog,
          item_id=W.draft_item),
    Route("catalog.manage_delete_item", county_officer(REDIRECT, denied=NOT_FOUND), catalog_id=W.draft_catalog,
          item_id=W.draft_item, mutates=True),
    Route("catalog.manage_publish", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog),
    Route("catalog.manage_delete_draft", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog),
    Route("catalog.manage_import", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog),
    Route("catalog.manage_export", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog),
    Route("catalog.import_template", officers_and_admin()),
    Route("catalog.manage_changes", county_officer(denied=NOT_FOUND), catalog_id=W.draft_catalog),
    # --- tenders: public -------------------------------------------------------------
    Route("tenders.index", public()),
    Route("tenders.notice", public(), tender_id=W.tender),
    Route("tenders.notice", public(NOT_FOUND), tender_id=W.draft_tender, case="draft"),
    Route("tenders.document", public(NOT_FOUND), tender_id=W.tender, doc_id=W.tender_document),  # file absent
    Route("tenders.ask", signed_in(FORBIDDEN, org_member=REDIRECT, org_admin=REDIRECT), tender_id=W.tender),
    # --- tenders: officers (county; township officers draft for their township) ----------
    Route("tenders.manage_index", rule(anonymous=LOGIN, default=FORBIDDEN, officer=OK, other_officer=OK, township=OK)),
    Route("tenders.manage_new", county_officer(denied=NOT_FOUND, township=OK), item_id=W.published_item),
    Route("tenders.manage_new", county_officer(NOT_FOUND, denied=NOT_FOUND), item_id=W.draft_item, case="draft item"),
    Route("tenders.manage_edit", county_officer(denied=NOT_FOUND, township=OK), tender_id=W.draft_tender),
    Route("tenders.manage_tender", county_officer(denied=NOT_FOUND), tender_id=W.tender),
    Route("tenders.manage_tender", county_officer(denied=NOT_FOUND, township=OK), tender_id=W.draft_tender,
          case="draft"),
    Route("tenders.manage_publish", county_officer(REDIRECT, denied=NOT_FOUND, township=FORBIDDEN),
          tender_id=W.draft_tender, mutates=True),
    Route("tenders.manage_upload", county_officer(REDIRECT, denied=NOT_FOUND), tender_id=W.tender),
    Route("tenders.manage_amend", county_officer(REDIRECT, denied=NOT_FOUND), tender_id=W.tender),
    Route("tenders.manage_cancel", county_officer(REDIRECT, denied=NOT_FOUND), tender_id=W.tender),
    Route("tenders.manage_answer", county_officer(REDIRECT, denied=NOT_FOUND), tender_id=W.tender,
          question_id=W.question),
    # --- bids: the bidding organization only (404 for everyone else, officers and admin included)
    Route("bids.index", org_members()),
    Route("bids.edit", org_members(), tender_id=W.tender),
    Route("bids.upload", org_members(REDIRECT), bid_id=W.bid),
    Route("bids.remove_file", org_members(REDIRECT), bid_id=W.bid, file_id=W.bid_file, mutates=True),
    Route("bids.download_file", org_members(), bid_id=W.bid, file_id=W.bid_file),
    Route("bids.withdraw", org_members(REDIRECT), bid_id=W.bid, mutates=True),
    Route("bids.confirm", org_members(REDIRECT), bid_id=W.bid, mutates=True),
    Route("bids.receipt", org_members(), bid_id=W.bid, number=1),
    # --- organizations: public ---------------------------------------------------
    Route("organizations.directory", public()),
    Route("organizations.public_page", public(), org_id=W.organization),
    Route("organizations.public_page", public(NOT_FOUND), org_id=W.pending_organization, case="pending"),
    # Anyone may register; a signed-in user only while holding no role at all.
    Route("organizations.register", rule(anonymous=OK, default=FORBIDDEN, org_member=to("/organizations/mine"),
                                         org_admin=to("/organizations/mine"))),
    Route("organizations.accept_invitation", public(), token=W.invitation_token),
    # --- organizations: their own pages -------------------------------------------
    Route("organizations.mine", org_members()),
    Route("organizations.members", org_members()),
    Route("organizations.edit", org_admin_only(OK)),
    Route("organizations.resubmit", org_admin_only()),
    Route("organizations.upload_document", org_admin_only()),
    Route("organizations.delete_document", org_admin_only(), doc_id=W.document, mutates=True),
    Route("organizations.invite", org_admin_only()),
    Route("organizations.revoke_invitation", org_admin_only(), invitation_id=W.invitation, mutates=True),
    Route("organizations.remove_member", org_admin_only(), assignment_id=W.member_assignment, mutates=True),
    Route("organizations.set_member_role", org_admin_only(), assignment_id=W.member_assignment, mutates=True),
    # Private documents: the organization, the officers of its county, platform admins.
    Route("organizations.download_document", org_members(officer=OK, admin=OK), doc_id=W.document),
    # --- organizations: review by the officers of the home county ------------------
    Route("organizations.queue", officers_and_admin()),
    Route("organizations.review", county_officer(denied=NOT_FOUND, admin=OK), org_id=W.pending_organization),
    Route("organizations.approve", county_officer(REDIRECT, denied=NOT_FOUND, admin=FORBIDDEN), org_id=W.pending_organization,
          mutates=True),
    Route("organizations.reject", county_officer(REDIRECT, denied=NOT_FOUND, admin=FORBIDDEN), org_id=W.pending_organization),
    Route("organizations.request_info", county_officer(REDIRECT, denied=NOT_FOUND, admin=FORBIDDEN), org_id=W.pending_organization),
    Route("organizations.suspend", county_officer(REDIRECT, denied=NOT_FOUND, admin=FORBIDDEN), org_id=W.organization),
    # A suspension is lifted by the county that imposed it or the platform admin.
    Route("organizations.lift", county_officer(REDIRECT, denied=NOT_FOUND, admin=REDIRECT), org_id=W.organization),
    Route("organizations.lift", county_officer(REDIRECT, denied=NOT_FOUND, admin=REDIRECT, other_officer=FORBIDDEN),
          org_id=W.moved_suspended_organization, case="moved",
          data={"reason": "x" * 2001}),  # too long: an allowed request is refused by the form, changes nothing
    # Nobody decides about an organization they are or were a member of.
    Route("organizations.approve", county_officer(FORBIDDEN, denied=NOT_FOUND, admin=FORBIDDEN),
          org_id=W.conflicted_organization, case="former-member"),
    Route("organizations.reject", county_officer(FORBIDDEN, denied=NOT_FOUND, admin=FORBIDDEN),
          org_id=W.conflicted_organization, case="former-member"),
    Route("organizations.request_info", county_officer(FORBIDDEN, denied=NOT_FOUND, admin=FORBIDDEN),
          org_id=W.conflicted_organization, case="former-member"),
    Route("organizations.release_code", county_officer(FORBIDDEN, denied=NOT_FOUND, admin=REDIRECT),
          org_id=W.conflicted_organization, case="former-member"),
    # --- organizations: who holds a credit code (officers and admins) --------------
    Route("organizations.code_holder", officers_and_admin()),
    Route("organizations.code_holder", officers_and_admin(), code=W.pending_code, case="lookup"),
    Route("organizations.release_code", county_officer(REDIRECT, denied=NOT_FOUND, admin=REDIRECT),
          org_id=W.pending_organization),
    # --- alerts: follows, email preferences, unsubscribe, failed emails ------------
    Route("alerts.follows", org_members()),  # members see; the form is the admin's
    Route("alerts.unfollow", org_admin_only(), follow_id=W.follow, mutates=True),
    Route("alerts.email_preferences", signed_in()),
    # No login: the signed token is the authorization (RFC 8058 one-click).
    Route("alerts.unsubscribe", public(), token=W.unsubscribe_token),
    Route("alerts.failed_emails", signed_in(FORBIDDEN, admin=OK)),
    Route("alerts.retry_email", signed_in(FORBIDDEN, admin=REDIRECT), notification_id=W.failed_notification,
          mutates=True),
    # --- evaluation, challenges, contracts (issue 11), on a tender taken to the end
    # (``_evaluation_world``): the "evaluator" chairs its committee and submitted
    # a sheet, the organization bid and challenged the result, the contract and a
    # performance evaluation (with its report) are published.
    Route("evaluation.assigned", signed_in()),
    # An evaluator sees only the evaluations they are assigned to (the others: 404).
    Route("evaluation.sheet", signed_in(NOT_FOUND, evaluator=OK), evaluation_id=W.evaluation),
    Route("evaluation.comparison", signed_in(NOT_FOUND, evaluator=OK, officer=OK), evaluation_id=W.evaluation),
    Route("evaluation.manage", county_officer(denied=NOT_FOUND), tender_id=W.evaluated_tender),
    Route("evaluation.result_notice", public(), tender_id=W.evaluated_tender),
    Route("evaluation.result_notice", public(NOT_FOUND), tender_id=W.tender, case="not evaluated"),
    Route("evaluation.my_result", org_members(), tender_id=W.evaluated_tender),
    Route("evaluation.my_result", org_members(NOT_FOUND), tender_id=W.tender, case="not opened"),
    Route("challenges.new", org_members(), tender_id=W.evaluated_tender),
    Route("challenges.show", org_members(officer=OK), challenge_id=W.challenge),
    Route("challenges.download", org_members(officer=OK), challenge_id=W.challenge, file_id=W.challenge_file),
    Route("challenges.manage_index", county_officer(other_officer=OK)),  # each officer sees their own counties
    Route("challenges.manage_show", county_officer(denied=NOT_FOUND), challenge_id=W.challenge),
    Route("contracts.due", county_officer(other_officer=OK)),
    # Contract recorded: the officer is sent to its notice.
    Route("contracts.record", county_officer(to("/tenders/"), denied=NOT_FOUND), tender_id=W.evaluated_tender),
    Route("contracts.record", county_officer(NOT_FOUND, denied=NOT_FOUND), tender_id=W.tender, case="no award"),
    # The purchaser: the county's officers and the purchasing township's.
    Route("contracts.record_performance", county_officer(denied=NOT_FOUND, township=OK),
          tender_id=W.evaluated_tender),
    Route("contracts.notice", public(), tender_id=W.evaluated_tender),
    Route("contracts.notice", public(NOT_FOUND), tender_id=W.tender, case="no contract"),
    Route("contracts.contract_file", public(), tender_id=W.evaluated_tender),
    Route("contracts.performance", public(), tender_id=W.evaluated_tender),
    Route("contracts.performance_report", public(), tender_id=W.evaluated_tender, performance_id=W.performance),
]

MATRIX = {entry.key: entry for entry in MATRIX_ENTRIES}
assert len(MATRIX) == len(MATRIX_ENTRIES), "an endpoint is listed twice (give the second one a case=)"
_EVALUATION_FIELDS = {"evaluated_tender", "evaluation", "challenge", "challenge_file", "performance"}
assert not [e.key for e in MATRIX_ENTRIES if e.mutates and {
    v.name for v in e.args.values() if isinstance(v, Ref)} & _EVALUATION_FIELDS], \
    "the evaluation world is built for the read-only entries only"


# === the tests ==================================================================


def _resolve(value, world: World):
    if isinstance(value, Ref):
        return getattr(world, value.name)
    return value


def _url(app, entry: Route, world: World) -> str:
    from flask import url_for

    args = {name: _resolve(value, world) for name, value in entry.args.items()}
    with app.test_request_context():
        return url_for(entry.endpoint, **args)


def _method(app, entry: Route) -> str:
    if entry.method:
        return entry.method
    methods = set().union(*(r.methods for r in app.url_map.iter_rules(entry.endpoint)))
    return "GET" if "GET" in methods else "POST"


def _client_as(app, role: str, world: World):
    """A client signed in as ``role`` (through the session, as Flask-Login
    stores it) and the CSRF token of its session (as Flask-WTF makes it)."""
    client = app.test_client()
    raw = secrets.token_hex(20)
    with client.session_transaction() as s:
        s["csrf_token"] = raw
        if role != "anonymous":
            s["_user_id"] = world.tokens[role]
            s["_fresh"] = True
    return client, URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def _fingerprint(session) -> str:
    """Every stored row of the world: a request that changes any of them shows."""
    from procure.extensions import db

    session.expire_all()
    parts = []
    for table in db.metadata.sorted_tables:
        if table.name in ("divisions", "alembic_version"):
            continue
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        parts.append(f"{table.name}:{[tuple(map(str, row)) for row in rows]}")
    return "\n".join(parts)


def _check(app, entry: Route, world: World) -> None:
    from procure.extensions import limiter

    url = _url(app, entry, world)
    method = _method(app, entry)
    problems = []
    for role in ROLES:
        limiter.reset()
        client, token = _client_as(app, role, world)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.open(url, method=method, data={"csrf_token": token, **(entry.data or {})})
        expected = entry.expected[role]
        if not expected.matches(response):
            location = response.headers.get("Location", "")
            problems.append(f"  {role:14} expected {expected}, got {response.status_code} {location}")
            continue
        assert_secure_headers(response)
        if response.mimetype == "text/html" and response.status_code == 200:
            assert_csp_clean(response.get_data(as_text=True))
    assert not problems, f"{method} {url} ({entry.key}):\n" + "\n".join(problems)


def test_matrix_lists_every_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    listed = {entry.endpoint for entry in MATRIX_ENTRIES}
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    missing = sorted(endpoints - listed)
    stale = sorted(listed - endpoints)
    assert not missing, "routes missing from tests/test_access_matrix.py MATRIX (add an entry each):\n" + "\n".join(
        f"  {e}  {rules[e]}" for e in missing
    )
    assert not stale, f"MATRIX lists endpoints that no longer exist: {stale}"


@pytest.fixture(scope="class")
def shared_world(app):
    """One world for the entries that change nothing (removed after them)."""
    from procure.extensions import db
    from tests.conftest import _truncate

    with app.app_context():
        with pytest.MonkeyPatch.context() as monkeypatch:
            world = _build_world(app, db.session, monkeypatch)
            world = _evaluation_world(app, db.session, world)
        db.session.commit()
        yield world
        db.session.rollback()
        _truncate()
        db.session.remove()


class TestReadOnly:
    """Entries whose requests change nothing share one world (built once);
    each test proves it changed nothing."""

    @pytest.mark.parametrize("key", sorted(k for k, e in MATRIX.items() if not e.mutates))
    def test_access(self, app, shared_world, key):
        from procure.extensions import db

        with app.app_context():
            before = _fingerprint(db.session)
            _check(app, MATRIX[key], shared_world)
            after = _fingerprint(db.session)
            db.session.remove()
        assert before == after, f"{key} changed stored data: mark its entry mutates=True"


@pytest.mark.parametrize("key", sorted(k for k, e in MATRIX.items() if e.mutates))
def test_access_changing_data(app, session, monkeypatch, key):
    """Entries whose allowed requests change data: a world of their own."""
    _check(app, MATRIX[key], _build_world(app, session, monkeypatch))
