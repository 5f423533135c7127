"""Reads of catalogs: public browsing, search and the officer's lists."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.geo.models import Division


def _applicable(catalogs: list[Catalog], year: int) -> Catalog | None:
    """Of one county's published versions: the one of ``year``, else the newest of
    an earlier year, else the nearest later year's."""
    same = [c for c in catalogs if c.year == year]
    earlier = [c for c in catalogs if c.year < year]
    later = [c for c in catalogs if c.year > year]
    if same:
        return same[0]
    if earlier:
        return max(earlier, key=lambda c: c.year)
    return min(later, key=lambda c: c.year) if later else None


def counties_with_published_catalog(session: Session, year: int) -> list[tuple[Division, Catalog]]:
    """Each county with a published catalog, with the one that applies in ``year``
    (see ``county_catalog``)."""
    rows = session.execute(
        select(Division, Catalog)
        .join(Catalog, Catalog.county_id == Division.id)
        .where(Catalog.status == CatalogStatus.PUBLISHED)
        .order_by(Division.code, Catalog.year.desc())
    ).all()
    by_county: dict[int, tuple[Division, list[Catalog]]] = {}
    for county, catalog in rows:
        by_county.setdefault(county.id, (county, []))[1].append(catalog)
    return [(county, _applicable(catalogs, year)) for county, catalogs in by_county.values()]


def county_catalog(session: Session, county_id: int, year: int) -> Catalog | None:
    """The catalog a county's page shows in ``year``: the published version of that
    year (the current catalog); without one, the newest earlier year's; without
    any, the next year's. A later year's catalog never replaces the current one."""
    return _applicable(published_versions(session, county_id), year)


def next_catalog(session: Session, county_id: int, year: int) -> Catalog | None:
    """The published catalog of the nearest year after ``year``, if any."""
    return session.scalar(
        select(Catalog)
        .where(Catalog.county_id == county_id, Catalog.status == CatalogStatus.PUBLISHED, Catalog.year > year)
        .order_by(Catalog.year)
        .limit(1)
    )


def published_catalogs_of(session: Session, county_id: int) -> list[Catalog]:
    """Published and superseded versions, newest first (the county's public history)."""
    return list(
        session.scalars(
            select(Catalog)
            .where(Catalog.county_id == county_id, Catalog.status != CatalogStatus.DRAFT)
            .order_by(Catalog.year.desc(), Catalog.version.desc())
        )
    )


def current_published(session: Session, county_id: int, year: int | None = None) -> Catalog | None:
    stmt = select(Catalog).where(Catalog.county_id == county_id, Catalog.status == CatalogStatus.PUBLISHED)
    if year is not None:
        stmt = stmt.where(Catalog.year == year)
    return session.scalar(stmt.order_by(Catalog.year.desc(), Catalog.version.desc()).limit(1))


def catalogs_of_county(session: Session, county_id: int) -> list[Catalog]:
    """Every version, drafts included (officers only), with the version each was copied from."""
    return list(
        session.scalars(
            select(Catalog).where(Catalog.county_id == county_id)
            .options(selectinload(Catalog.based_on))
            .order_by(Catalog.year.desc(), Catalog.version.desc())
        )
    )


def get_catalog(session: Session, catalog_id: int) -> Catalog | None:
    return session.get(Catalog, catalog_id)


def categories_tree(session: Session, catalog: Catalog) -> list[Category]:
    """Level-1 categories with children and items loaded."""
    return list(
        session.scalars(
            select(Category)
            .where(Category.catalog_id == catalog.id, Category.parent_id.is_(None))
            .options(
                selectinload(Category.children)
                .selectinload(Category.children)
                .selectinload(Category.items),
                selectinload(Category.children).selectinload(Category.items),
                selectinload(Category.items),
            )
            .order_by(Category.code)
        )
    )


def item_counts(session: Session, catalog: Catalog) -> dict[int, int]:
    """Number of items under each category (recursively), keyed by category id."""
    categories = session.execute(
        select(Category.id, Category.parent_id).where(Category.catalog_id == catalog.id)
    ).all()
    parent_of = dict(categories)
    counts = dict.fromkeys(parent_of, 0)
    direct = session.execute(
        select(Item.category_id, func.count()).where(Item.catalog_id == catalog.id).group_by(Item.category_id)
    ).all()
    for category_id, n in direct:
        node = category_id
        while node is not None:
            counts[node] += n
            node = parent_of.get(node)
    return counts


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class ItemFilter:
    q: str = ""
    undertaker_type: str = ""
    mass_org_first: bool = False


def _search_statement(catalog: Catalog, flt: ItemFilter, within: Category | None = None):
    """Items of a catalog matching the filter (and under ``within``). Substring
    search on name, content and category names (works for Chinese on SQLite and
    PostgreSQL alike)."""
    stmt = select(Item).where(Item.catalog_id == catalog.id)
    if within is not None:
        # Category codes are hierarchical (A, A01, A0101): the subtree of a
        # category is every category whose code starts with its code.
        subtree = select(Category.id).where(
            Category.catalog_id == catalog.id, Category.code.startswith(within.code, autoescape=True)
        )
        stmt = stmt.where(Item.category_id.in_(subtree))
    q = " ".join(flt.q.split())
    if q:
        l3, l2, l1 = aliased(Category), aliased(Category), aliased(Category)
        stmt = (
            stmt.join(l3, Item.category_id == l3.id)
            .outerjoin(l2, l3.parent_id == l2.id)
            .outerjoin(l1, l2.parent_id == l1.id)
        )
        for term in q.split(" "):
            pattern = f"%{_like_escape(term.lower())}%"
            stmt = stmt.where(
                or_(
                    *(
                        func.lower(col).like(pattern, escape="\\")
                        for col in (Item.name, Item.service_content, Item.notes, Item.purchasing_department,
                                    l3.name, l2.name, l1.name)
                    )
                )
            )
    if flt.undertaker_type:
        pattern = f'%"{_like_escape(flt.undertaker_type)}"%'
        stmt = stmt.where(cast(Item.undertaker_types, String).like(pattern, escape="\\"))
    if flt.mass_org_first:
        stmt = stmt.where(Item.mass_org_first.is_(True))
    return stmt


def _with_categories(stmt):
    return stmt.options(
        selectinload(Item.category).selectinload(Category.parent).selectinload(Category.parent)
    ).order_by(Item.code)


def search_items(session: Session, catalog: Catalog, flt: ItemFilter, within: Category | None = None) -> list[Item]:
    """Every item of a catalog matching the filter, by code."""
    return list(session.scalars(_with_categories(_search_statement(catalog, flt, within))))


@dataclass
class ItemPage:
    items: list[Item]
    total: int  # matching items on all pages
    page: int  # the page shown (1-based, at most ``pages``)
    pages: int


def search_page(
    session: Session, catalog: Catalog, flt: ItemFilter, *, within: Category | None = None, page: int = 1,
    per_page: int = 50,
) -> ItemPage:
    """One page of the items matching the filter; a page past the end shows the last one."""
    stmt = _search_statement(catalog, flt, within)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(session.scalars(_with_categories(stmt).limit(per_page).offset((page - 1) * per_page)))
    return ItemPage(items=items, total=total, page=page, pages=pages)


def item_total(session: Session, catalog: Catalog) -> int:
    """Number of items of one catalog."""
    return session.scalar(select(func.count()).select_from(Item).where(Item.catalog_id == catalog.id)) or 0


def category_total(session: Session, catalog: Catalog) -> int:
    """Number of categories (all levels) of one catalog."""
    return session.scalar(select(func.count()).select_from(Category).where(Category.catalog_id == catalog.id)) or 0


def root_categories(session: Session, catalog: Catalog) -> list[Category]:
    """Level-1 categories, by code (without their subtrees)."""
    return list(
        session.scalars(
            select(Category).where(Category.catalog_id == catalog.id, Category.parent_id.is_(None)).order_by(Category.code)
        )
    )


def published_versions(session: Session, county_id: int) -> list[Catalog]:
    """The county's published versions (one per year), newest year first."""
    return list(
        session.scalars(
            select(Catalog)
            .where(Catalog.county_id == county_id, Catalog.status == CatalogStatus.PUBLISHED)
            .order_by(Catalog.year.desc(), Catalog.version.desc())
        )
    )


def one_version_per_year(history: list[Catalog]) -> list[Catalog]:
    """Of a county's public history: for each year its published version (else
    its newest superseded one), newest year first."""
    years: dict[int, Catalog] = {}
    for version in history:
        if version.status == CatalogStatus.PUBLISHED:
            years[version.year] = version
        else:
            years.setdefault(version.year, version)
    return sorted(years.values(), key=lambda c: -c.year)


def item_totals(session: Session, catalog_ids: list[int]) -> dict[int, int]:
    """Number of items of each given catalog, keyed by catalog id (0 when empty)."""
    if not catalog_ids:
        return {}
    rows = session.execute(
        select(Item.catalog_id, func.count()).where(Item.catalog_id.in_(catalog_ids)).group_by(Item.catalog_id)
    ).all()
    totals = dict.fromkeys(catalog_ids, 0)
    totals.update(dict(rows))
    return totals


def get_item(session: Session, item_id: int) -> Item | None:
    return session.get(Item, item_id)


def previous_published(session: Session, catalog: Catalog) -> Catalog | None:
    """The version to compare ``catalog`` against (the "what changed" page).

    For a published or superseded version: the latest public (published or superseded)
    version of the same county before it, by (year, version). For a draft: the current
    published version of the same year, else the latest published version of the county
    of an earlier year, else the latest published one of any year.
    """
    public = (CatalogStatus.PUBLISHED, CatalogStatus.SUPERSEDED)
    if catalog.status in public:
        return session.scalar(
            select(Catalog)
            .where(
                Catalog.county_id == catalog.county_id,
                Catalog.status.in_(public),
                Catalog.id != catalog.id,
                or_(
                    Catalog.year < catalog.year,
                    (Catalog.year == catalog.year) & (Catalog.version < catalog.version),
                ),
            )
            .order_by(Catalog.year.desc(), Catalog.version.desc())
            .limit(1)
        )
    same_year = current_published(session, catalog.county_id, catalog.year)
    if same_year is not None:
        return same_year
    earlier = session.scalar(
        select(Catalog)
        .where(
            Catalog.county_id == catalog.county_id,
            Catalog.status == CatalogStatus.PUBLISHED,
            Catalog.year < catalog.year,
        )
        .order_by(Catalog.year.desc(), Catalog.version.desc())
        .limit(1)
    )
    return earlier or current_published(session, catalog.county_id)


def category_by_code(session: Session, catalog: Catalog, code: str) -> Category | None:
    return session.scalar(select(Category).where(Category.catalog_id == catalog.id, Category.code == code))


def draft_count(session: Session, county_ids: set[int]) -> int:
    """Unpublished drafts of the given counties."""
    if not county_ids:
        return 0
    return session.scalar(
        select(func.count()).select_from(Catalog)
        .where(Catalog.county_id.in_(county_ids), Catalog.status == CatalogStatus.DRAFT)
    ) or 0


def allows_undertaker(session: Session, county_id: int, year: int, undertaker_type: str) -> bool:
    """Whether the county's catalog of ``year`` (``county_catalog``) lists
    ``undertaker_type`` as eligible for at least one item."""
    catalog = county_catalog(session, county_id, year)
    if catalog is None:
        return False
    pattern = f'%"{_like_escape(undertaker_type)}"%'
    return session.scalar(
        select(Item.id).where(Item.catalog_id == catalog.id, cast(Item.undertaker_types, String).like(pattern, escape="\\"))
        .limit(1)
    ) is not None
