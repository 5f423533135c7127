"""Reads of catalogs: public browsing, search and the officer's lists."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, and_, cast, false, func, null, or_, select, true
from sqlalchemy.orm import Session, aliased, joinedload, raiseload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from procure.catalog import search
from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.geo.models import Division, DivisionLevel
from procure.paging import Page, paginate


def applicable(catalogs: list, year: int):
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


@dataclass(frozen=True)
class PublishedCounty:
    code: str
    name: str
    catalog_id: int
    year: int
    items: int
    status: CatalogStatus = CatalogStatus.PUBLISHED


@dataclass(frozen=True)
class CityGroup:
    code: str
    name: str
    counties: list[PublishedCounty]


def published_counties_by_city(session: Session, year: int) -> list[CityGroup]:
    """Counties with a published catalog, grouped by city (by code), each with the
    version that applies in ``year`` (see ``county_catalog``) and its number of
    items. One query, whatever the number of counties."""
    city = aliased(Division)
    item_count = (
        select(func.count(Item.id)).where(Item.catalog_id == Catalog.id).correlate(Catalog).scalar_subquery()
    )
    rows = session.execute(
        select(city.code, city.name, Division.code, Division.name, Catalog.id, Catalog.year, item_count)
        .join(Catalog, Catalog.county_id == Division.id)
        .outerjoin(city, city.id == Division.parent_id)
        .where(Catalog.status == CatalogStatus.PUBLISHED)
        .order_by(city.code, Division.code, Catalog.year.desc())
    ).all()
    candidates: dict[str, list[PublishedCounty]] = {}
    cities: dict[str, tuple[str, str]] = {}
    for city_code, city_name, code, name, catalog_id, catalog_year, items in rows:
        candidates.setdefault(code, []).append(PublishedCounty(code, name, catalog_id, catalog_year, items or 0))
        cities[code] = (city_code or "", city_name or "")
    groups: list[CityGroup] = []
    for code, versions in candidates.items():  # in city, county order
        city_code, city_name = cities[code]
        if not groups or groups[-1].code != city_code:
            groups.append(CityGroup(city_code, city_name, []))
        groups[-1].counties.append(applicable(versions, year))
    return groups


def county_catalog(session: Session, county_id: int, year: int) -> Catalog | None:
    """The catalog a county's page shows in ``year``: the published version of that
    year (the current catalog); without one, the newest earlier year's; without
    any, the next year's. A later year's catalog never replaces the current one."""
    return applicable(published_versions(session, county_id), year)


def next_catalog(session: Session, county_id: int, year: int) -> Catalog | None:
    """The published catalog of the nearest year after ``year``, if any."""
    return session.scalar(
        select(Catalog)
        .where(Catalog.county_id == county_id, Catalog.status == CatalogStatus.PUBLISHED, Catalog.year > year)
        .order_by(Catalog.year)
        .limit(1)
    )


# --- public pages: what each page shows, loaded at once ------------------------------
# Every public catalog page runs a fixed number of queries whatever the size of the
# catalog; the objects returned are loaded with ``raiseload``: a template reaching
# for anything not loaded here fails in the tests instead of querying.

def _county_chain():
    return joinedload(Catalog.county).joinedload(Division.parent).joinedload(Division.parent)


def public_catalog(session: Session, catalog_id: int) -> Catalog | None:
    """A catalog version with its county and the county's city and province."""
    return session.scalar(
        select(Catalog).where(Catalog.id == catalog_id).options(_county_chain(), raiseload("*", sql_only=True))
    )


def public_current(session: Session, county_code: str, year: int | None = None) -> Catalog | None:
    """The published version of the county (of ``year``, else of its newest year)."""
    stmt = (
        select(Catalog)
        .join(Division, Division.id == Catalog.county_id)
        .where(Division.code == county_code, Division.level == DivisionLevel.COUNTY,
               Catalog.status == CatalogStatus.PUBLISHED)
        .options(_county_chain(), raiseload("*", sql_only=True))
        .order_by(Catalog.year.desc(), Catalog.version.desc())
        .limit(1)
    )
    if year is not None:
        stmt = stmt.where(Catalog.year == year)
    return session.scalar(stmt)


def public_history(session: Session, county_id: int) -> list[Catalog]:
    """The county's published and superseded versions, newest first (one query;
    the current version of a year and the newest one are read from it)."""
    return list(
        session.scalars(
            select(Catalog)
            .where(Catalog.county_id == county_id, Catalog.status != CatalogStatus.DRAFT)
            .options(_county_chain(), raiseload("*", sql_only=True))
            .order_by(Catalog.year.desc(), Catalog.version.desc())
        )
    )


@dataclass
class CategoryNode:
    """A category of the public tree, with its number of items (all levels below)."""

    id: int
    parent_id: int | None
    level: int
    code: str
    name: str
    count: int = 0
    children: list[CategoryNode] = field(default_factory=list)
    items: list[ItemLink] = field(default_factory=list)


@dataclass(frozen=True)
class ItemLink:
    id: int
    name: str
    mass_org_first: bool


@dataclass
class Outline:
    roots: list[CategoryNode]
    total_items: int
    # True: every level with its items; False: levels 1 and 2 with counts, a
    # level-2 category's items on their own (paged) page.
    full: bool


def public_outline(session: Session, catalog: Catalog, *, inline_max: int) -> Outline:
    """The catalog's tree for the public page. Two queries whatever its size: the
    item counts per level-2 category, then the categories to show (with their items
    when the catalog has at most ``inline_max`` items)."""
    l3 = aliased(Category)
    per_level2 = dict(
        session.execute(
            select(l3.parent_id, func.count(Item.id))
            .join(l3, Item.category_id == l3.id)
            .where(Item.catalog_id == catalog.id)
            .group_by(l3.parent_id)
        ).all()
    )
    total = sum(per_level2.values())
    full = total <= inline_max
    columns = (Category.id, Category.parent_id, Category.level, Category.code, Category.name)
    if full:
        rows = session.execute(
            select(*columns, Item.id, Item.name, Item.mass_org_first)
            .outerjoin(Item, Item.category_id == Category.id)
            .where(Category.catalog_id == catalog.id)
            .order_by(Category.level, Category.code, Item.code, Item.id)
        ).all()
    else:
        rows = session.execute(
            select(*columns, null(), null(), null())
            .where(Category.catalog_id == catalog.id, Category.level <= 2)
            .order_by(Category.level, Category.code)
        ).all()
    nodes: dict[int, CategoryNode] = {}
    roots: list[CategoryNode] = []
    for cid, parent_id, level, code, name, item_id, item_name, mass_first in rows:
        node = nodes.get(cid)
        if node is None:
            node = nodes[cid] = CategoryNode(cid, parent_id, level, code, name)
            parent = nodes.get(parent_id) if parent_id is not None else None
            if parent is not None:
                parent.children.append(node)
            elif parent_id is None:
                roots.append(node)
        if item_id is not None:
            node.items.append(ItemLink(item_id, item_name, bool(mass_first)))
    for node in nodes.values():
        if node.level == 3:
            node.count = len(node.items)
        elif node.level == 2:
            node.count = per_level2.get(node.id, 0)
    for root in roots:
        root.count = sum(child.count for child in root.children)
    return Outline(roots=roots, total_items=total, full=full)


@dataclass(frozen=True)
class CategoryStep:
    id: int
    code: str
    name: str


def public_category_path(session: Session, catalog: Catalog, code: str) -> list[CategoryStep]:
    """The category of ``code`` and its ancestors, level 1 first ([] if unknown). One query."""
    c, p1, p2 = aliased(Category), aliased(Category), aliased(Category)
    row = session.execute(
        select(c.id, c.code, c.name, p1.id, p1.code, p1.name, p2.id, p2.code, p2.name)
        .outerjoin(p1, c.parent_id == p1.id)
        .outerjoin(p2, p1.parent_id == p2.id)
        .where(c.catalog_id == catalog.id, c.code == code)
    ).first()
    if row is None:
        return []
    steps = [CategoryStep(*row[i : i + 3]) for i in (6, 3, 0) if row[i] is not None]
    return steps


@dataclass(frozen=True)
class ItemResult:
    """A search result: the item's summary and the names of its category path."""

    id: int
    code: str
    name: str
    service_content: str
    undertaker_types: list[str]
    mass_org_first: bool
    path: tuple[str, ...]


def search_page(session: Session, catalog: Catalog, flt: ItemFilter, *, category_id: int | None = None,
                number: int = 1, per_page: int = 50) -> Page:
    """One page of the items matching the filter (under ``category_id`` if given),
    in code order, and their total: two queries, filters and paging in SQL."""
    stmt = _results_statement(session, catalog, flt, category_id)
    page = paginate(session, stmt, number=number, per_page=per_page, scalars=False)
    page.items = [_result(row) for row in page.items]
    return page


def _results_statement(session: Session, catalog: Catalog, flt: ItemFilter, category_id: int | None = None):
    l3, l2, l1 = aliased(Category), aliased(Category), aliased(Category)
    stmt = (
        select(Item.id, Item.code, Item.name, Item.service_content, Item.undertaker_types, Item.mass_org_first,
               l1.name, l2.name, l3.name)
        .join(l3, Item.category_id == l3.id)
        .outerjoin(l2, l3.parent_id == l2.id)
        .outerjoin(l1, l2.parent_id == l1.id)
        .where(Item.catalog_id == catalog.id)
        .order_by(Item.code, Item.id)
    )
    stmt = _apply_filter(session, stmt, flt, (l3, l2, l1))
    if category_id is not None:
        stmt = stmt.where(or_(l3.id == category_id, l2.id == category_id, l1.id == category_id))
    return stmt


def _result(row) -> ItemResult:
    return ItemResult(row[0], row[1], row[2], row[3] or "", list(row[4] or []), bool(row[5]),
                      tuple(name for name in row[6:9] if name is not None))


def _apply_filter(session: Session, stmt, flt: ItemFilter, categories):
    q = " ".join(flt.q.split())
    for term in q.split(" ") if q else ():
        stmt = stmt.where(search.any_matches(session, term, *(func.lower(c.name) for c in categories)))
    if flt.undertaker_type:
        pattern = f'%"{_like_escape(flt.undertaker_type)}"%'
        stmt = stmt.where(cast(Item.undertaker_types, String).like(pattern, escape="\\"))
    if flt.mass_org_first:
        stmt = stmt.where(Item.mass_org_first.is_(True))
    return stmt


def public_item(session: Session, item_id: int) -> tuple[Item, list[CategoryStep]] | None:
    """An item with its catalog (county, city, province) and category path. Two queries."""
    item = session.scalar(
        select(Item)
        .where(Item.id == item_id)
        .options(joinedload(Item.catalog).options(_county_chain()), raiseload("*", sql_only=True))
    )
    if item is None:
        return None
    c, p1, p2 = aliased(Category), aliased(Category), aliased(Category)
    row = session.execute(
        select(c.id, c.code, c.name, p1.id, p1.code, p1.name, p2.id, p2.code, p2.name)
        .outerjoin(p1, c.parent_id == p1.id)
        .outerjoin(p2, p1.parent_id == p2.id)
        .where(c.id == item.category_id)
    ).one()
    return item, [CategoryStep(*row[i : i + 3]) for i in (6, 3, 0) if row[i] is not None]


def editor_tree(session: Session, catalog: Catalog, *, root: Category | None = None,
                outline: bool = False) -> list[Category]:
    """The categories the catalog editor shows, as ORM objects whose ``children``,
    ``items`` and ``parent`` are set from the categories joined with their items,
    so rendering the tree runs no query whatever its size (one query).

    ``outline``: levels 1 and 2 only, without items (a large catalog); ``root``: only
    that category's subtree. Returns the top categories shown (level 1, or ``root``).
    """
    # Categories and their items in one query (no items in an outline).
    item_join = and_(Item.category_id == Category.id, false() if outline else true())
    stmt = select(Category, Item).outerjoin(Item, item_join).where(Category.catalog_id == catalog.id)
    if root is not None:
        below = select(Category.id).where(Category.parent_id == root.id)
        stmt = stmt.where(or_(Category.id == root.id, Category.parent_id == root.id, Category.parent_id.in_(below)))
    if outline:
        stmt = stmt.where(Category.level <= 2)
    rows = session.execute(stmt.order_by(Category.level, Category.code, Item.code, Item.id)).all()
    categories: list[Category] = []
    by_id: dict[int, Category] = {}
    items: dict[int, list[Item]] = {}
    for category, item in rows:
        if category.id not in by_id:
            by_id[category.id] = category
            categories.append(category)
            items[category.id] = []
        if item is not None:
            items[category.id].append(item)
            set_committed_value(item, "category", category)
    children: dict[int, list[Category]] = {c.id: [] for c in categories}
    tops = []
    for category in categories:
        parent = by_id.get(category.parent_id)
        if parent is not None:
            children[parent.id].append(category)
            set_committed_value(category, "parent", parent)
        if (root is None and category.parent_id is None) or (root is not None and category.id == root.id):
            tops.append(category)
    for category in categories:
        set_committed_value(category, "children", children[category.id])
        set_committed_value(category, "items", items[category.id])
    return tops


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


def get_catalog(session: Session, catalog_id: int, *, with_based_on: bool = False) -> Catalog | None:
    """The catalog with its county; ``with_based_on``: and the version it was
    copied from (with its county), in the same statement."""
    if not with_based_on:
        return session.get(Catalog, catalog_id)
    return session.scalar(select(Catalog).where(Catalog.id == catalog_id).options(joinedload(Catalog.based_on)))


def item_counts(session: Session, catalog: Catalog) -> dict[int, int]:
    """Number of items under each category (recursively), keyed by category id."""
    return category_counts(session, catalog)[0]


def category_counts(session: Session, catalog: Catalog) -> tuple[dict[int, int], int]:
    """Number of items under each category (recursively), keyed by category id,
    and of the whole catalog: one statement."""
    rows = session.execute(
        select(Category.id, Category.parent_id, func.count(Item.id))
        .outerjoin(Item, Item.category_id == Category.id)
        .where(Category.catalog_id == catalog.id)
        .group_by(Category.id, Category.parent_id)
    ).all()
    parent_of = {category_id: parent_id for category_id, parent_id, _n in rows}
    counts = dict.fromkeys(parent_of, 0)
    total = 0
    for category_id, _parent, n in rows:
        total += n
        node = category_id
        while node is not None and n:
            counts[node] += n
            node = parent_of.get(node)
    return counts, total


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class ItemFilter:
    q: str = ""
    undertaker_type: str = ""
    mass_org_first: bool = False


def search_items(session: Session, catalog: Catalog, flt: ItemFilter) -> list[ItemResult]:
    """Every item matching the filter, in code order (no paging: exports, tests)."""
    return [_result(row) for row in session.execute(_results_statement(session, catalog, flt))]


def item_total(session: Session, catalog: Catalog) -> int:
    """Number of items of one catalog."""
    return session.scalar(select(func.count()).select_from(Item).where(Item.catalog_id == catalog.id)) or 0


def category_total(session: Session, catalog: Catalog) -> int:
    """Number of categories (all levels) of one catalog."""
    return session.scalar(select(func.count()).select_from(Category).where(Category.catalog_id == catalog.id)) or 0


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


def catalogs_of_counties(session: Session, county_ids) -> list[tuple[Catalog, int]]:
    """Every version of these counties, drafts included (officers only), newest
    first within each county, each with the version it was copied from and its
    number of items: one statement, however many counties and versions."""
    county_ids = list(county_ids)
    if not county_ids:
        return []
    total = select(func.count(Item.id)).where(Item.catalog_id == Catalog.id).correlate(Catalog).scalar_subquery()
    return [
        (catalog, n)
        for catalog, n in session.execute(
            select(Catalog, total.label("items"))
            .where(Catalog.county_id.in_(county_ids))
            .options(joinedload(Catalog.based_on))
            .order_by(Catalog.county_id, Catalog.year.desc(), Catalog.version.desc())
        ).unique()
    ]


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


def upper_categories(session: Session, catalog: Catalog, *, max_level: int = 2) -> list[Category]:
    """The catalog's categories of levels 1..``max_level`` in code order (what
    an organization picks to follow): one query, bounded by the catalog's outline."""
    return list(session.scalars(
        select(Category).where(Category.catalog_id == catalog.id, Category.level <= max_level).order_by(Category.code)
    ))


def category_by_code(session: Session, catalog: Catalog, code: str) -> Category | None:
    return session.scalar(select(Category).where(Category.catalog_id == catalog.id, Category.code == code))


def draft_count(session: Session, county_ids: set[int]) -> int:
    """Unpublished drafts of the given counties."""
    if not county_ids:
        return 0
    return session.scalar(draft_count_statement(county_ids)) or 0


def draft_count_statement(county_ids: set[int]):
    """The SELECT of ``draft_count`` (also combined with the navbar's other counts)."""
    return select(func.count()).select_from(Catalog).where(
        Catalog.county_id.in_(county_ids), Catalog.status == CatalogStatus.DRAFT
    )


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
