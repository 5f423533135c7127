"""Catalog pages: public browsing (no login) and the county officer's management.

One blueprint, two sections: public pages first, officer management below.
"""
from flask import Blueprint, abort, render_template
from flask_login import login_required

from procure.catalog import queries
from procure.extensions import db
from procure.geo import queries as geo_queries

bp = Blueprint("catalog", __name__)


# === public pages (no login) ================================================
# Published and superseded catalog versions, for everyone; drafts for nobody
# (404). Every page has a stable URL and works without JavaScript.

from flask import request, url_for  # noqa: E402
from flask_babel import gettext  # noqa: E402

from procure import policy  # noqa: E402
from procure.catalog.models import Catalog, CatalogStatus, Item, UndertakerType  # noqa: E402

PUBLIC_PAGE_SIZE = 50
SEARCH_MAX_CHARS = 100
# Above this many items the tree shows categories only; a level-3 category then
# links to the list of its items (keeps the page light on a phone).
TREE_INLINE_ITEMS_MAX = 300


def undertaker_labels() -> dict[str, str]:
    """Undertaker type value → Chinese label (the raw value when no label is known)."""
    try:
        from procure.catalog.undertakers import LABELS
    except ImportError:  # pragma: no cover - labels module not present
        LABELS = {}
    labels = {t.value: t.value for t in UndertakerType}
    labels.update({str(getattr(key, "value", key)): label for key, label in LABELS.items()})
    return labels


def public_catalog_url(catalog: Catalog) -> str:
    """The stable public URL of a catalog version: the county/year page for the
    published version, the version page for a superseded one."""
    if catalog.status == CatalogStatus.PUBLISHED:
        return url_for("catalog.county_year", code=catalog.county.code, year=catalog.year)
    return url_for("catalog.public_catalog", catalog_id=catalog.id)


def category_path(category) -> list:
    """The category and its ancestors, level 1 first."""
    path = []
    while category is not None:
        path.append(category)
        category = category.parent
    return list(reversed(path))


def ordered_types(types: list[str]) -> list[str]:
    """An item's undertaker types in the canonical order of the labels."""
    order = list(undertaker_labels())
    return sorted(types, key=lambda t: order.index(t) if t in order else len(order))


@bp.context_processor
def _public_helpers():
    return {"public_catalog_url": public_catalog_url, "category_path": category_path, "ordered_types": ordered_types}


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
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _render_public_catalog(catalog: Catalog):
    policy.require(policy.can_browse_public_catalog(catalog), hide=True)
    county = catalog.county
    flt, problems = _public_filter()
    category = None
    category_code = request.args.get("cat", "").strip()
    if category_code:
        category = queries.category_by_code(db.session, catalog, category_code[:16])
        if category is None:
            problems.append(gettext("该目录版本中没有编号为 %(code)s 的目录，已忽略。", code=category_code[:16]))
    filtering = bool(flt.q or flt.undertaker_type or flt.mass_org_first or category)
    counts = queries.item_counts(db.session, catalog)
    results: list[Item] = []
    total_results = 0
    page = pages = 1
    if filtering:
        found = queries.search_items(db.session, catalog, flt)
        if category is not None:
            found = [item for item in found if category in category_path(item.category)]
        total_results = len(found)
        pages = max(1, -(-total_results // PUBLIC_PAGE_SIZE))
        page = min(_page_number(), pages)
        results = found[(page - 1) * PUBLIC_PAGE_SIZE : page * PUBLIC_PAGE_SIZE]
    tree = [] if filtering else queries.categories_tree(db.session, catalog)
    history = queries.published_catalogs_of(db.session, county.id)
    # One entry per year: the year's published version (or its newest one).
    years: dict[int, Catalog] = {}
    for version in history:
        if version.status == CatalogStatus.PUBLISHED:
            years[version.year] = version
        else:
            years.setdefault(version.year, version)
    versions = [v for v in history if v.year == catalog.year]
    current = None
    if catalog.status == CatalogStatus.SUPERSEDED:
        current = queries.current_published(db.session, county.id, catalog.year)
    newest = queries.current_published(db.session, county.id)
    total_items = sum(counts[c.id] for c in catalog.categories if c.parent_id is None)
    inline_items = total_items <= TREE_INLINE_ITEMS_MAX

    def page_url(number: int) -> str:
        args = request.args.to_dict()
        args["page"] = str(number)
        return url_for(request.endpoint, **{**args, **(request.view_args or {})})

    def url_without_category() -> str:
        args = {k: v for k, v in request.args.items() if k not in {"cat", "page"}}
        return url_for(request.endpoint, **{**args, **(request.view_args or {})})

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
        inline_items=inline_items,
        problems=problems,
        results=results,
        total_results=total_results,
        page=page,
        pages=pages,
        page_url=page_url,
        url_without_category=url_without_category,
        open_all=request.args.get("open") == "all",
        years=sorted(years.values(), key=lambda c: -c.year),
        versions=versions,
        current=current,
        newest=newest,
        labels=undertaker_labels(),
        form_action=request.path,
    )


@bp.route("/counties/<code>")
def county(code: str):
    """The county's current catalog: the published version of the newest year."""
    county = geo_queries.county_by_code(db.session, code) or abort(404)
    catalog = queries.current_published(db.session, county.id) or abort(404)
    return _render_public_catalog(catalog)


@bp.route("/counties/<code>/<int:year>")
def county_year(code: str, year: int):
    """The published version of one year of the county's catalog."""
    county = geo_queries.county_by_code(db.session, code) or abort(404)
    catalog = queries.current_published(db.session, county.id, year) or abort(404)
    return _render_public_catalog(catalog)


@bp.route("/catalogs/<int:catalog_id>")
def public_catalog(catalog_id: int):
    """One catalog version, published or superseded (stable link to that version)."""
    catalog = queries.get_catalog(db.session, catalog_id) or abort(404)
    return _render_public_catalog(catalog)


@bp.route("/items/<int:item_id>")
def public_item(item_id: int):
    item = queries.get_item(db.session, item_id) or abort(404)
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
        path=category_path(item.category),
        current=current,
        labels=undertaker_labels(),
    )


# === officer management ======================================================
# Everything below is the county officer's catalog management (/manage/...).
# Access: anonymous users are sent to the login page; an officer may only
# manage the catalogs of the counties they are an officer of. Anyone else gets
# 404 for drafts (they must not even learn that a draft exists) and 403 for
# published or superseded versions. Published and superseded versions are
# read-only: every edit is refused with a message and changes nothing.

from decimal import Decimal  # noqa: E402
from urllib.parse import quote  # noqa: E402

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for  # noqa: E402
from flask_babel import gettext as _  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from flask_login import current_user, login_required  # noqa: E402

from procure import policy  # noqa: E402
from procure.catalog import diff, forms, queries, services, xlsx  # noqa: E402
from procure.extensions import db  # noqa: E402
from procure.geo import queries as geo_queries  # noqa: E402
from procure.timeutil import localtime, utcnow  # noqa: E402
from procure.catalog.models import Catalog, CatalogStatus, Category, Item  # noqa: E402
from procure.errors import DomainError  # noqa: E402
from procure.geo.models import Division  # noqa: E402

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _officer_counties() -> list[Division]:
    ids = policy.officer_county_ids(current_user)
    if not ids:
        return []
    return sorted((db.session.get(Division, i) for i in ids), key=lambda d: d.code)


def _manageable_catalog(catalog_id: int) -> Catalog:
    catalog = db.session.get(Catalog, catalog_id)
    if catalog is None:
        abort(404)
    policy.require(
        policy.can_manage_county_catalog(current_user, catalog.county_id), hide=not catalog.is_public
    )
    return catalog


def _read_only_refusal(catalog: Catalog):
    """A redirect with a message when ``catalog`` may not be edited, else None."""
    if policy.can_edit_catalog(current_user, catalog):
        return None
    flash(_("该目录版本已发布或已废止，只能查看和导出，不能修改；如需修改，请新建草稿。"), "warning")
    return redirect(url_for("catalog.manage_catalog", catalog_id=catalog.id))


def _category_of(catalog: Catalog, category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None or category.catalog_id != catalog.id:
        abort(404)
    return category


def _item_of(catalog: Catalog, item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None or item.catalog_id != catalog.id:
        abort(404)
    return item


def _flash_form_errors(form) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            flash(str(message), "danger")


# A catalog with more items than this is shown as an outline (levels 1 and 2);
# the officer opens one level-2 category at a time to see and edit its items.
INLINE_ITEMS_LIMIT = 300


def _item_total(catalog: Catalog) -> int:
    return db.session.scalar(select(func.count()).select_from(Item).where(Item.catalog_id == catalog.id)) or 0


def _focus_of(category: Category | None) -> int | None:
    """The level-2 category whose page shows ``category`` in a large catalog."""
    while category is not None and category.level > 2:
        category = category.parent
    return category.id if category is not None and category.level == 2 else None


def _ancestors(category: Category | None) -> list[Category]:
    """The parents of ``category``, level 1 first."""
    path = []
    while category is not None and category.parent is not None:
        category = category.parent
        path.append(category)
    return list(reversed(path))


def _to_catalog(catalog: Catalog, anchor: str | None = None, focus: int | None = None):
    """Back to the catalog page, on the part that was just changed."""
    cat = focus if focus is not None and _item_total(catalog) > INLINE_ITEMS_LIMIT else None
    return redirect(url_for("catalog.manage_catalog", catalog_id=catalog.id, cat=cat, _anchor=anchor))


def _status_label(catalog: Catalog) -> str:
    return {
        CatalogStatus.DRAFT: _("草稿"),
        CatalogStatus.PUBLISHED: _("已发布"),
        CatalogStatus.SUPERSEDED: _("已废止"),
    }[catalog.status]


@bp.app_template_global("catalog_status_label")
def catalog_status_label(catalog: Catalog) -> str:
    return _status_label(catalog)


@bp.app_template_global("catalog_change_value")
def catalog_change_value(value) -> str:
    """A field value of the changes page, readable: types by their labels, money in yuan."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    labels = forms.undertaker_labels()
    if isinstance(value, (list, tuple, set)):
        return "、".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{labels.get(k, k)}：{v}" for k, v in value.items())
    return str(value)


def _published_versions(county: Division) -> list[Catalog]:
    return [c for c in queries.catalogs_of_county(db.session, county.id) if c.status == CatalogStatus.PUBLISHED]


def _new_draft_form(county: Division) -> forms.NewDraftForm:
    return forms.NewDraftForm(prefix=f"county{county.id}", published=_published_versions(county))


@bp.route("/manage/catalogs")
@login_required
def manage_index():
    counties = _officer_counties()
    policy.require(bool(counties))
    sections = []
    for county in counties:
        form = _new_draft_form(county)
        if form.year.data is None:
            form.year.data = str(localtime(utcnow(), current_app.config["TIMEZONE"]).year)
        sections.append((county, queries.catalogs_of_county(db.session, county.id), form))
    catalog_ids = [c.id for _county, catalogs, _form in sections for c in catalogs]
    totals = dict(
        db.session.execute(
            select(Item.catalog_id, func.count()).where(Item.catalog_id.in_(catalog_ids)).group_by(Item.catalog_id)
        ).all()
    ) if catalog_ids else {}
    return render_template("catalog/manage_index.html", sections=sections, totals=totals)


@bp.route("/manage/counties/<code>/catalogs", methods=["POST"])
@login_required
def manage_create_draft(code: str):
    county = geo_queries.county_by_code(db.session, code)
    if county is None:
        abort(404)
    policy.require(policy.can_manage_county_catalog(current_user, county.id))
    form = _new_draft_form(county)
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("catalog.manage_index"))
    source = None
    if form.copy_from.data:
        source = db.session.get(Catalog, int(form.copy_from.data))
    try:
        catalog = services.create_draft(
            db.session, county=county, year=int(form.year.data), user=current_user, copy_from=source
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("catalog.manage_index"))
    db.session.commit()
    if source is not None:
        flash(_("已新建 %(year)d 年第 %(version)d 版草稿，内容复制自第 %(source)d 版。",
                year=catalog.year, version=catalog.version, source=source.version), "success")
    else:
        flash(_("已新建 %(year)d 年第 %(version)d 版空白草稿。", year=catalog.year, version=catalog.version),
              "success")
    return _to_catalog(catalog)


@bp.route("/manage/catalogs/<int:catalog_id>")
@login_required
def manage_catalog(catalog_id: int):
    """The catalog as a tree. Small catalogs show every item; large ones show
    levels 1 and 2 (``outline``), and ``?cat=ID`` shows one category's subtree."""
    catalog = _manageable_catalog(catalog_id)
    counts = queries.item_counts(db.session, catalog)
    item_total = _item_total(catalog)
    focus = None
    cat = request.args.get("cat", "")
    if cat:
        if not cat.isdigit():
            abort(404)
        focus = _category_of(catalog, int(cat))
        # A level-1 category of a large catalog is still shown as an outline.
        tree, mode = [focus], ("outline" if focus.level == 1 and item_total > INLINE_ITEMS_LIMIT else "focus")
    elif item_total > INLINE_ITEMS_LIMIT:
        tree = [c for c in catalog.categories if c.parent_id is None]
        mode = "outline"
    else:
        tree, mode = queries.categories_tree(db.session, catalog), "full"
    return render_template(
        "catalog/manage_catalog.html",
        catalog=catalog,
        tree=tree,
        mode=mode,
        focus=focus,
        ancestors=_ancestors(focus),
        counts=counts,
        editable=policy.can_edit_catalog(current_user, catalog),
        item_total=item_total,
        describe_types=forms.describe_types,
    )


# --- categories -----------------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/categories", methods=["POST"])
@login_required
def manage_add_category(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    form = forms.CategoryForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_catalog(catalog)
    parent = None
    if form.parent_id.data:
        if not form.parent_id.data.isdigit():
            abort(404)
        parent = _category_of(catalog, int(form.parent_id.data))
    focus = _focus_of(parent)
    try:
        category = services.add_category(db.session, catalog, name=form.name.data, parent=parent)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _to_catalog(catalog, f"cat-{parent.id}" if parent else None, focus)
    db.session.commit()
    flash(_("已添加目录 %(code)s %(name)s。", code=category.code, name=category.name), "success")
    return _to_catalog(catalog, f"cat-{category.id}", _focus_of(category))


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>/rename", methods=["POST"])
@login_required
def manage_rename_category(catalog_id: int, category_id: int):
    catalog = _manageable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    focus = _focus_of(category)
    form = forms.CategoryForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_catalog(catalog, f"cat-{category_id}", focus)
    try:
        services.rename_category(db.session, category, form.name.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _to_catalog(catalog, f"cat-{category_id}", focus)
    db.session.commit()
    flash(_("目录 %(code)s 已改名为 %(name)s。", code=category.code, name=category.name), "success")
    return _to_catalog(catalog, f"cat-{category_id}", focus)


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>/delete", methods=["POST"])
@login_required
def manage_delete_category(catalog_id: int, category_id: int):
    catalog = _manageable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    focus = _focus_of(category)
    parent_focus = _focus_of(category.parent)
    parent_anchor = f"cat-{category.parent_id}" if category.parent_id else None
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_catalog(catalog, f"cat-{category_id}", focus)
    label = f"{category.code} {category.name}"
    try:
        services.delete_category(db.session, category)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _to_catalog(catalog, f"cat-{category_id}", focus)
    db.session.commit()
    flash(_("已删除目录 %(label)s。", label=label), "success")
    return _to_catalog(catalog, parent_anchor, parent_focus)


# --- items ------------------------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>/items/new", methods=["GET", "POST"])
@login_required
def manage_add_item(catalog_id: int, category_id: int):
    catalog = _manageable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    if category.level != 3:
        flash(_("服务事项只能挂在三级目录下。"), "danger")
        return _to_catalog(catalog, f"cat-{category.id}", _focus_of(category))
    form = forms.ItemForm()
    if form.validate_on_submit():
        try:
            item = services.add_item(db.session, category, form.to_data())
        except DomainError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash(_("已添加服务事项 %(code)s %(name)s。", code=item.code, name=item.name), "success")
            return _to_catalog(catalog, f"item-{item.id}", _focus_of(category))
    return render_template(
        "catalog/manage_item_form.html", catalog=catalog, category=category, item=None, form=form,
        focus=_focus_of(category) if _item_total(catalog) > INLINE_ITEMS_LIMIT else None,
    )


@bp.route("/manage/catalogs/<int:catalog_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def manage_edit_item(catalog_id: int, item_id: int):
    catalog = _manageable_catalog(catalog_id)
    item = _item_of(catalog, item_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    form = forms.ItemForm(item=item)
    if form.validate_on_submit():
        try:
            services.update_item(db.session, item, form.to_data())
        except DomainError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            db.session.commit()
            flash(_("已保存服务事项 %(code)s %(name)s。", code=item.code, name=item.name), "success")
            return _to_catalog(catalog, f"item-{item.id}", _focus_of(item.category))
    return render_template(
        "catalog/manage_item_form.html", catalog=catalog, category=item.category, item=item, form=form,
        focus=_focus_of(item.category) if _item_total(catalog) > INLINE_ITEMS_LIMIT else None,
    )


def _form_error(form, exc: DomainError) -> None:
    """Attach a service's refusal to the field it names, or to the whole form."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


@bp.route("/manage/catalogs/<int:catalog_id>/items/<int:item_id>/delete", methods=["POST"])
@login_required
def manage_delete_item(catalog_id: int, item_id: int):
    catalog = _manageable_catalog(catalog_id)
    item = _item_of(catalog, item_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    focus = _focus_of(item.category)
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _to_catalog(catalog, f"item-{item_id}", focus)
    label = f"{item.code} {item.name}"
    category_id = item.category_id
    try:
        services.delete_item(db.session, item)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _to_catalog(catalog, f"item-{item_id}", focus)
    db.session.commit()
    flash(_("已删除服务事项 %(label)s。", label=label), "success")
    return _to_catalog(catalog, f"cat-{category_id}", focus)


# --- publication and deletion ---------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/publish", methods=["GET", "POST"])
@login_required
def manage_publish(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    form = forms.PublishForm()
    if form.validate_on_submit():
        try:
            previous = services.publish(db.session, catalog, current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
        else:
            db.session.commit()
            if previous is not None:
                flash(_("%(year)d 年第 %(version)d 版已发布，原第 %(old)d 版已废止。",
                        year=catalog.year, version=catalog.version, old=previous.version), "success")
            else:
                flash(_("%(year)d 年第 %(version)d 版已发布，公众现在可以查看。",
                        year=catalog.year, version=catalog.version), "success")
            return _to_catalog(catalog)
    current = queries.current_published(db.session, catalog.county_id, catalog.year)
    counts = queries.item_counts(db.session, catalog)
    return render_template(
        "catalog/manage_publish.html",
        catalog=catalog,
        form=form,
        current=current,
        item_total=len(catalog.items),
        category_total=len(counts),
    )


@bp.route("/manage/catalogs/<int:catalog_id>/delete", methods=["GET", "POST"])
@login_required
def manage_delete_draft(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        year, version = catalog.year, catalog.version
        try:
            services.delete_draft(db.session, catalog)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return _to_catalog(catalog)
        db.session.commit()
        flash(_("已删除 %(year)d 年第 %(version)d 版草稿。", year=year, version=version), "success")
        return redirect(url_for("catalog.manage_index"))
    return render_template("catalog/manage_delete.html", catalog=catalog, form=form)


# --- XLSX import and export, changes ------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/import", methods=["GET", "POST"])
@login_required
def manage_import(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    if (refusal := _read_only_refusal(catalog)) is not None:
        return refusal
    form = forms.ImportForm()
    problems = []
    if form.validate_on_submit():
        try:
            report = xlsx.import_catalog(
                db.session,
                catalog,
                form.file.data.stream,
                max_rows=current_app.config["CATALOG_IMPORT_MAX_ROWS"],
            )
        except xlsx.ImportFailed as exc:
            db.session.rollback()
            problems = list(exc.problems)
            form.form_errors.append(str(exc.message))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_import_summary(report), "success")
            return _to_catalog(catalog)
    return render_template(
        "catalog/manage_import.html",
        catalog=catalog,
        form=form,
        problems=problems,
        max_bytes=current_app.config["CATALOG_IMPORT_MAX_BYTES"],
        max_rows=current_app.config["CATALOG_IMPORT_MAX_ROWS"],
    )


def _import_summary(report) -> str:
    items = getattr(report, "items", None)
    categories = getattr(report, "categories", None)
    if isinstance(items, int) and isinstance(categories, int):
        return _("导入成功：%(categories)d 个目录、%(items)d 个服务事项。", categories=categories, items=items)
    return _("导入成功。")


@bp.route("/manage/catalogs/<int:catalog_id>/export")
@login_required
def manage_export(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    data = xlsx.export_catalog(catalog)
    name = f"{catalog.county.name}-{catalog.year}-v{catalog.version}.xlsx"
    fallback = f"catalog-{catalog.county.code}-{catalog.year}-v{catalog.version}.xlsx"
    response = make_response(data)
    response.headers["Content-Type"] = XLSX_MIMETYPE
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/manage/catalogs/<int:catalog_id>/changes")
@login_required
def manage_changes(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    previous = queries.previous_published(db.session, catalog)
    changes = diff.compare(previous, catalog) if previous is not None else None
    return render_template(
        "catalog/manage_changes.html",
        catalog=catalog,
        previous=previous,
        changes=changes,
        labels=forms.undertaker_labels(),
    )
