"""Public catalog pages (no login).

Published and superseded catalog versions, for everyone; drafts for nobody
(404). Every page has a stable URL and works without JavaScript.
"""
from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_babel import gettext

from procure import inputs, policy
from procure.catalog import queries, years
from procure.catalog.blueprint import bp
from procure.catalog.forms import undertaker_labels
from procure.catalog.models import Catalog, CatalogStatus, UndertakerType
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.viewkit import found

PUBLIC_PAGE_SIZE = 50
SEARCH_MAX_CHARS = 100
CATEGORY_CODE_MAX = 16


def public_catalog_url(catalog: Catalog) -> str:
    """The stable public URL of a catalog version: the county/year page for the
    published version, the version page for a superseded one."""
    if catalog.status == CatalogStatus.PUBLISHED:
        return url_for("catalog.county_year", code=catalog.county.code, year=catalog.year)
    return url_for("catalog.public_catalog", catalog_id=catalog.id)


def ordered_types(types: list[str]) -> list[str]:
    """An item's undertaker types in the canonical order (that of UndertakerType)."""
    order = [t.value for t in UndertakerType]
    return sorted(types, key=lambda t: order.index(t) if t in order else len(order))


@bp.context_processor
def _public_helpers():
    return {
        "public_catalog_url": public_catalog_url,
        "category_path": lambda category: category.path,
        "ordered_types": ordered_types,
    }


def _public_filter() -> tuple[queries.ItemFilter, list[str]]:
    """The search and filters of the query string, with a message for each bad value."""
    problems = []
    q = " ".join(request.args.get("q", "").split())
    if len(q) > SEARCH_MAX_CHARS:
        problems.append(gettext("搜索词过长，只使用了前 %(n)d 个字。", n=SEARCH_MAX_CHARS))
        q = q[:SEARCH_MAX_CHARS]
    undertaker_type = request.args.get("type", "").strip()
    if undertaker_type and undertaker_type not in {t.value for t in UndertakerType}:
        problems.append(gettext("未知的承接主体类型，已忽略该筛选条件。"))
        undertaker_type = ""
    mass_org_first = request.args.get("mass", "") in {"1", "on", "y", "true"}
    return queries.ItemFilter(q=q, undertaker_type=undertaker_type, mass_org_first=mass_org_first), problems


def _page_number() -> int:
    return inputs.int_arg("page", 1, minimum=1) or 1


def _url_with(**changes) -> str:
    """This page's URL with some query arguments changed (None removes one)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})


def _render_public_catalog(catalog: Catalog):
    policy.require(policy.can_browse_public_catalog(catalog), hide=True)
    county = catalog.county
    flt, problems = _public_filter()
    category = None
    category_code = request.args.get("cat", "").strip()[:CATEGORY_CODE_MAX]
    if category_code:
        category = queries.category_by_code(db.session, catalog, category_code)
        if category is None:
            problems.append(gettext("该目录版本中没有编号为 %(code)s 的目录，已忽略。", code=category_code))
    filtering = bool(flt.q or flt.undertaker_type or flt.mass_org_first or category)
    counts = queries.item_counts(db.session, catalog)
    results = queries.ItemPage(items=[], total=0, page=1, pages=1)
    if filtering:
        results = queries.search_page(
            db.session, catalog, flt, within=category, page=_page_number(), per_page=PUBLIC_PAGE_SIZE
        )
    tree = [] if filtering else queries.categories_tree(db.session, catalog)
    history = queries.published_catalogs_of(db.session, county.id)
    current = None
    if catalog.status == CatalogStatus.SUPERSEDED:
        current = queries.current_published(db.session, county.id, catalog.year)
    total_items = queries.item_total(db.session, catalog)
    year = years.this_year()
    return render_template(
        "catalog/public_catalog.html",
        county=county,
        catalog=catalog,
        tree=tree,
        counts=counts,
        total_items=total_items,
        flt=flt,
        filtering=filtering,
        category=category,
        inline_items=total_items <= current_app.config["CATALOG_TREE_INLINE_ITEMS"],
        problems=problems,
        results=results.items,
        total_results=results.total,
        page=results.page,
        pages=results.pages,
        page_url=lambda number: _url_with(page=str(number)),
        url_without_category=lambda: _url_with(cat=None, page=None),
        open_all=request.args.get("open") == "all",
        years=queries.one_version_per_year(history),
        versions=[v for v in history if v.year == catalog.year],
        current=current,
        newest=queries.county_catalog(db.session, county.id, year),
        upcoming=queries.next_catalog(db.session, county.id, year),
        period=years.period(catalog, year),
        labels=undertaker_labels(),
        form_action=request.path,
    )


@bp.route("/counties/<code>")
def county(code: str):
    """The county's current catalog: the published version of the current year
    (a later year's published catalog does not replace it before its year)."""
    county = found(geo_queries.county_by_code(db.session, code))
    return _render_public_catalog(found(queries.county_catalog(db.session, county.id, years.this_year())))


@bp.route("/counties/<code>/<int:year>")
def county_year(code: str, year: int):
    """The published version of one year of the county's catalog."""
    county = found(geo_queries.county_by_code(db.session, code))
    return _render_public_catalog(found(queries.current_published(db.session, county.id, year)))


@bp.route("/catalogs/<int:catalog_id>")
def public_catalog(catalog_id: int):
    """One catalog version, published or superseded (stable link to that version)."""
    return _render_public_catalog(found(queries.get_catalog(db.session, catalog_id)))


@bp.route("/items/<int:item_id>")
def public_item(item_id: int):
    item = found(queries.get_item(db.session, item_id))
    catalog = item.catalog
    policy.require(policy.can_browse_public_catalog(catalog), hide=True)
    current = None
    if catalog.status == CatalogStatus.SUPERSEDED:
        current = queries.current_published(db.session, catalog.county_id, catalog.year)
    return render_template(
        "catalog/public_item.html",
        item=item,
        catalog=catalog,
        county=catalog.county,
        path=item.category.path,
        current=current,
        labels=undertaker_labels(),
    )
