"""State changes of catalogs: drafts, categories, items, publication.

Services take a session, flush but never commit, and raise DomainError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased, lazyload

from procure.accounts.models import User
from procure.catalog import undertakers
from procure.catalog.models import Catalog, CatalogStatus, Category, Item, UndertakerType
from procure.errors import DomainError
from procure.geo.models import Division, DivisionLevel
from procure.timeutil import utcnow

LEVEL1_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --- codes -----------------------------------------------------------------

def child_code(parent_code: str | None, index: int) -> str:
    """Code of the ``index``-th (1-based) child: A, B, … at level 1; parent + 2 digits below."""
    if parent_code is None:
        if not 1 <= index <= len(LEVEL1_LETTERS):
            raise DomainError(_l("一级目录最多 %(n)d 个。", n=len(LEVEL1_LETTERS)))
        return LEVEL1_LETTERS[index - 1]
    if not 1 <= index <= 99:
        raise DomainError(_l("同一目录下最多 99 个子项。"))
    return f"{parent_code}{index:02d}"


def _next_child_code(session: Session, catalog: Catalog, parent: Category | None) -> str:
    siblings = session.scalars(
        select(Category.code).where(
            Category.catalog_id == catalog.id,
            Category.parent_id.is_(None) if parent is None else Category.parent_id == parent.id,
        )
    ).all()
    index = 1
    while child_code(parent.code if parent else None, index) in siblings:
        index += 1
    return child_code(parent.code if parent else None, index)


def _next_item_code(session: Session, category: Category) -> str:
    codes = set(session.scalars(select(Item.code).where(Item.category_id == category.id)).all())
    index = 1
    while f"{category.code}{index:02d}" in codes:
        index += 1
    if index > 99:
        raise DomainError(_l("同一目录下最多 99 个服务事项。"))
    return f"{category.code}{index:02d}"


# --- drafts and publication -------------------------------------------------

def _require_county(county: Division) -> None:
    if county.level != DivisionLevel.COUNTY:
        raise DomainError(_l("目录只能属于县级单位。"))


def require_draft(catalog: Catalog) -> None:
    if not catalog.is_draft:
        raise DomainError(_l("只有草稿可以修改；已发布的目录请先创建新草稿。"))


_require_draft = require_draft


def latest_published(session: Session, county_id: int, year: int | None = None) -> Catalog | None:
    stmt = select(Catalog).where(Catalog.county_id == county_id, Catalog.status == CatalogStatus.PUBLISHED)
    if year is not None:
        stmt = stmt.where(Catalog.year == year)
    return session.scalar(stmt.order_by(Catalog.year.desc(), Catalog.version.desc()).limit(1))


def create_draft(
    session: Session,
    *,
    county: Division,
    year: int,
    user: User | None,
    copy_from: Catalog | None = None,
    title: str | None = None,
) -> Catalog:
    """Create a new draft version for (county, year), empty or as a copy of ``copy_from``."""
    _require_county(county)
    if not 2000 <= year <= 2100:
        raise DomainError(_l("年度不正确。"), field="year")
    open_draft = session.scalar(
        select(Catalog.id).where(
            Catalog.county_id == county.id, Catalog.year == year, Catalog.status == CatalogStatus.DRAFT
        )
    )
    if open_draft is not None:
        raise DomainError(_l("该年度已有一份草稿，请继续编辑它。"))
    if copy_from is not None and (copy_from.county_id != county.id or not copy_from.is_public):
        raise DomainError(_l("只能复制本县已发布的目录。"))
    last_version = session.scalar(
        select(func.max(Catalog.version)).where(Catalog.county_id == county.id, Catalog.year == year)
    )
    catalog = Catalog(
        county=county,
        year=year,
        version=(last_version or 0) + 1,
        status=CatalogStatus.DRAFT,
        title=title or f"{county.name}{year}年乡镇政府购买服务指导性目录",
        based_on=copy_from,
        created_by=user,
    )
    session.add(catalog)
    session.flush()
    if copy_from is not None:
        copy_contents(session, source=copy_from, target=catalog)
    return catalog


def draft_of_year(session: Session, *, county: Division, year: int, user: User | None) -> Catalog:
    """The open draft of (county, year), or a new empty one."""
    _require_county(county)
    draft = session.scalar(
        select(Catalog).where(Catalog.county_id == county.id, Catalog.year == year, Catalog.status == CatalogStatus.DRAFT)
    )
    return draft if draft is not None else create_draft(session, county=county, year=year, user=user)


def copy_contents(session: Session, *, source: Catalog, target: Catalog) -> None:
    target.notes = source.notes
    mapping: dict[int, Category] = {}
    for category in sorted(source.categories, key=lambda c: (c.level, c.code)):
        clone = Category(
            catalog=target,
            parent=mapping.get(category.parent_id) if category.parent_id else None,
            level=category.level,
            code=category.code,
            name=category.name,
        )
        session.add(clone)
        mapping[category.id] = clone
    for item in source.items:
        session.add(
            Item(
                catalog=target,
                category=mapping[item.category_id],
                code=item.code,
                name=item.name,
                service_content=item.service_content,
                purchasing_department=item.purchasing_department,
                undertaker_types=list(item.undertaker_types),
                undertaker_notes=dict(item.undertaker_notes),
                mass_org_first=item.mass_org_first,
                notes=item.notes,
                reference_budget=item.reference_budget,
            )
        )
    session.flush()


def publish(session: Session, catalog: Catalog, user: User | None) -> Catalog | None:
    """Publish a draft; the previous published version of the same county and year
    becomes superseded. Returns the superseded catalog, if any."""
    _require_draft(catalog)
    if not catalog.items:
        raise DomainError(_l("目录中没有任何服务事项，不能发布。"))
    session.flush()
    prune_empty_categories(session, catalog)
    # Lock the county's published row so two officers cannot both publish.
    # (No joined county here: PostgreSQL refuses FOR UPDATE on an outer join.)
    previous = session.scalar(
        select(Catalog)
        .options(lazyload(Catalog.county))
        .where(
            Catalog.county_id == catalog.county_id,
            Catalog.year == catalog.year,
            Catalog.status == CatalogStatus.PUBLISHED,
        )
        .with_for_update()
    )
    now = utcnow()
    if previous is not None:
        previous.status = CatalogStatus.SUPERSEDED
        previous.superseded_at = now
        # Before the new one is published: one published version per county and
        # year is a unique index, checked statement by statement.
        session.flush()
    catalog.status = CatalogStatus.PUBLISHED
    catalog.published_at = now
    catalog.published_by = user
    session.flush()
    return previous


def delete_draft(session: Session, catalog: Catalog) -> None:
    _require_draft(catalog)
    session.delete(catalog)
    session.flush()


def clear_contents(session: Session, catalog: Catalog) -> None:
    """Delete every category and item of a draft (bulk statements, fast on large catalogs)."""
    _require_draft(catalog)
    session.flush()
    session.execute(delete(Item).where(Item.catalog_id == catalog.id))
    for level in (3, 2, 1):
        session.execute(delete(Category).where(Category.catalog_id == catalog.id, Category.level == level))
    session.expire(catalog, ["items", "categories"])


# --- categories --------------------------------------------------------------

def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def add_category(session: Session, catalog: Catalog, *, name: str, parent: Category | None = None) -> Category:
    _require_draft(catalog)
    name = _clean(name)
    if not name:
        raise DomainError(_l("请填写目录名称。"), field="name")
    if parent is not None:
        if parent.catalog_id != catalog.id:
            raise DomainError(_l("上级目录不属于该目录版本。"))
        if parent.level >= 3:
            raise DomainError(_l("三级目录下不能再建子目录。"))
    _check_sibling_name(session, catalog, parent, name)
    category = Category(
        catalog=catalog,
        parent=parent,
        level=1 if parent is None else parent.level + 1,
        code=_next_child_code(session, catalog, parent),
        name=name,
    )
    session.add(category)
    session.flush()
    return category


def _check_sibling_name(session, catalog, parent, name, exclude_id=None) -> None:
    stmt = select(Category.id).where(
        Category.catalog_id == catalog.id,
        Category.name == name,
        Category.parent_id.is_(None) if parent is None else Category.parent_id == parent.id,
    )
    if exclude_id is not None:
        stmt = stmt.where(Category.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise DomainError(_l("同一上级下已有同名目录。"), field="name")


def rename_category(session: Session, category: Category, name: str) -> None:
    _require_draft(category.catalog)
    name = _clean(name)
    if not name:
        raise DomainError(_l("请填写目录名称。"), field="name")
    _check_sibling_name(session, category.catalog, category.parent, name, exclude_id=category.id)
    category.name = name
    session.flush()


def delete_category(session: Session, category: Category) -> None:
    _require_draft(category.catalog)
    if category.children or category.items:
        raise DomainError(_l("目录下还有子目录或服务事项，请先删除它们。"))
    session.delete(category)
    session.flush()


# --- items -------------------------------------------------------------------

@dataclass
class ItemData:
    name: str
    service_content: str = ""
    purchasing_department: str = ""
    undertaker_types: list[str] = field(default_factory=list)
    undertaker_notes: dict[str, str] = field(default_factory=dict)
    mass_org_first: bool = False
    notes: str = ""
    reference_budget: Decimal | None = None


BUDGET_MAX = Decimal("999999999999.99")  # Item.reference_budget is Numeric(14, 2), in yuan


def _text_block(text: str | None) -> str:
    """Multi-line text as stored: LF line ends (as a spreadsheet gives them back), stripped."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _validate_item(data: ItemData) -> ItemData:
    name = _clean(data.name)
    if not name:
        raise DomainError(_l("请填写服务事项名称。"), field="name")
    valid = {t.value for t in UndertakerType}
    types = sorted(set(data.undertaker_types))
    if not types:
        raise DomainError(_l("请至少选择一种承接主体类型。"), field="undertaker_types")
    unknown = [t for t in types if t not in valid]
    if unknown:
        raise DomainError(_l("未知的承接主体类型：%(t)s", t="、".join(unknown)), field="undertaker_types")
    if data.reference_budget is not None and data.reference_budget < 0:
        raise DomainError(_l("参考预算不能为负数。"), field="reference_budget")
    if data.reference_budget is not None and data.reference_budget > BUDGET_MAX:
        raise DomainError(_l("参考预算过大。"), field="reference_budget")
    type_notes = {k: " ".join(str(v).split()) for k, v in (data.undertaker_notes or {}).items() if k in types and v}
    for key, note in type_notes.items():
        # A note must survive the 承接主体类型 cell of an export: 企业（律师事务所）.
        if undertakers.parse_cell(undertakers.format_cell([key], {key: note})) != ([key], {key: note}, []):
            raise DomainError(
                _l("承接主体类型的说明“%(note)s”无法使用：括号不成对或与类型名称冲突。", note=note),
                field="undertaker_notes",
            )
    return ItemData(
        name=name,
        service_content=_text_block(data.service_content),
        purchasing_department=_clean(data.purchasing_department),
        undertaker_types=types,
        undertaker_notes=type_notes,
        mass_org_first=bool(data.mass_org_first),
        notes=_text_block(data.notes),
        reference_budget=data.reference_budget,
    )


validate_item_data = _validate_item


def _check_item_name(session, category: Category, name: str, exclude_id=None) -> None:
    stmt = select(Item.id).where(Item.category_id == category.id, Item.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Item.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise DomainError(_l("该目录下已有同名服务事项。"), field="name")


def add_item(session: Session, category: Category, data: ItemData) -> Item:
    _require_draft(category.catalog)
    if category.level != 3:
        raise DomainError(_l("服务事项只能挂在三级目录下。"))
    data = _validate_item(data)
    _check_item_name(session, category, data.name)
    item = Item(catalog=category.catalog, category=category, code=_next_item_code(session, category), **vars(data))
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, item: Item, data: ItemData) -> None:
    _require_draft(item.catalog)
    data = _validate_item(data)
    _check_item_name(session, item.category, data.name, exclude_id=item.id)
    for key, value in vars(data).items():
        setattr(item, key, value)
    session.flush()


def delete_item(session: Session, item: Item) -> Category | None:
    """Delete an item; when it was the last of its level-3 category, that
    category goes too (returned), so no empty category reaches the public page."""
    _require_draft(item.catalog)
    category = item.category
    session.delete(item)
    session.flush()
    remaining = session.scalar(select(func.count()).select_from(Item).where(Item.category_id == category.id))
    if category.level == 3 and not remaining:
        session.delete(category)
        session.flush()
        return category
    return None


def prune_empty_categories(session: Session, catalog: Catalog) -> int:
    """Delete the categories with no item under them (level 3 without items, then
    levels 2 and 1 without children). Returns how many were deleted."""
    deleted = 0
    has_item = select(Item.id).where(Item.category_id == Category.id).exists()
    deleted += session.execute(
        delete(Category).where(Category.catalog_id == catalog.id, Category.level == 3, ~has_item)
    ).rowcount or 0
    child = aliased(Category)
    for level in (2, 1):
        has_child = select(child.id).where(child.parent_id == Category.id).exists()
        deleted += session.execute(
            delete(Category).where(Category.catalog_id == catalog.id, Category.level == level, ~has_child)
        ).rowcount or 0
    if deleted:
        session.expire(catalog, ["categories"])
    return deleted
