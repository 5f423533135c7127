"""Public catalog pages (no login).

Published and superseded catalog versions, for everyone; drafts for nobody
(404). Every page has a stable URL and works without JavaScript.
"""
from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_babel import gettext

from procure import caching, paging, policy
from procure.catalog import queries, years
from procure.catalog.blueprint import bp
from procure.catalog.forms import undertaker_labels
from procure.catalog.models import Catalog, CatalogStatus, UndertakerType
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.viewkit import found

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


def _url_with(**changes) -> str:
    """This page's URL with some query arguments changed (None removes one)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})


def _render_public_catalog(catalog: Catalog):
    """The public page of a catalog version: its tree (levels 1 and 2 with counts for
    a large catalog), or one page of search results / of a category's items. A fixed
    number of queries whatever the size of the catalog; templates load nothing."""
    policy.require(policy.can_browse_public_catalog(catalog), hide=True)
    county = catalog.county
    flt, problems = _public_filter()
    category_steps = []
    category_code = request.args.get("cat", "").strip()[:CATEGORY_CODE_MAX]
    if category_code:
        category_steps = queries.public_category_path(db.session, catalog, category_code)
        if not category_steps:
            problems.append(gettext("该目录版本中没有编号为 %(code)s 的目录，已忽略。", code=category_code))
    category = category_steps[-1] if category_steps else None
    filtering = bool(flt.q or flt.undertaker_type or flt.mass_org_first or category)
    outline = results = None
    if filtering:
        results = queries.search_page(
            db.session, catalog, flt, category_id=category.id if category else None,
            number=paging.page_number(request.args), per_page=current_app.config["CATALOG_PAGE_SIZE"],
        )
        total_items = queries.item_total(db.session, catalog)
    else:
        outline = queries.public_outline(
            db.session, catalog, inline_max=current_app.config["CATALOG_TREE_INLINE_ITEMS"]
        )
        total_items = outline.total_items
    # The county's public history, once: the years, this year's versions, the
    # year's current version, the applicable and the next catalog are read from it.
    history = queries.public_history(db.session, county.id)
    published = [v for v in history if v.status == CatalogStatus.PUBLISHED]
    versions = [v for v in history if v.year == catalog.year]
    current = None
    if catalog.status == CatalogStatus.SUPERSEDED:
        current = next((v for v in versions if v.status == CatalogStatus.PUBLISHED), None)
    year = years.this_year()
    later = [v for v in published if v.year > year]
    return render_template(
        "catalog/public_catalog.html",
        county=county,
        catalog=catalog,
        outline=outline,
        total_items=total_items,
        flt=flt,
        filtering=filtering,
        category=category,
        category_steps=category_steps,
        problems=problems,
        results=results,
        page_url=lambda number: _url_with(page=str(number)),
        url_without_category=lambda: _url_with(cat=None, page=None),
        open_all=request.args.get("open") == "all",
        years=queries.one_version_per_year(history),
        versions=versions,
        current=current,
        newest=queries.applicable(published, year),
        upcoming=min(later, key=lambda v: v.year) if later else None,
        period=years.period(catalog, year),
        labels=undertaker_labels(),
        form_action=request.path,
    )


# Public catalog pages through the caches (procure.caching), keyed by the URL, the
# language and the text size, valid while the catalog generation (any new
# publication changes it) and the year (which catalog applies) stay the same: a
# cache hit runs no query.
_cached_list = caching.cached_page(depends=("catalogs",), max_age="HTTP_MAX_AGE_LIST", last_modified="catalogs")
_cached_version = caching.cached_page(depends=("catalogs",), max_age="HTTP_MAX_AGE_VERSION",
                                      last_modified="catalogs")


@bp.route("/counties/<code>")
@_cached_list
def county(code: str):
    """The county's current catalog: the published version of the current year
    (a later year's published catalog does not replace it before its year)."""
    county = found(geo_queries.county_by_code(db.session, code))
    return _render_public_catalog(found(queries.county_catalog(db.session, county.id, years.this_year())))


@bp.route("/counties/<code>/<int:year>")
@_cached_list
def county_year(code: str, year: int):
    """The published version of one year of the county's catalog."""
    return _render_public_catalog(found(queries.public_current(db.session, code, year)))


@bp.route("/catalogs/<int:catalog_id>")
@_cached_version
def public_catalog(catalog_id: int):
    """One catalog version, published or superseded (stable link to that version)."""
    return _render_public_catalog(found(queries.public_catalog(db.session, catalog_id)))


@bp.route("/items/<int:item_id>")
@_cached_version
def public_item(item_id: int):
    item, path = found(queries.public_item(db.session, item_id))
    catalog = item.catalog
    policy.require(policy.can_browse_public_catalog(catalog), hide=True)
    current = None
    if catalog.status == CatalogStatus.SUPERSEDED:
        current = queries.public_current(db.session, catalog.county.code, catalog.year)
    return render_template(
        "catalog/public_item.html",
        item=item,
        catalog=catalog,
        county=catalog.county,
        path=path,
        current=current,
        labels=undertaker_labels(),
    )
