"""The county officer's catalog management (/manage/...).

Access: anonymous users are sent to the login page; an officer may only manage
the catalogs of the counties they are an officer of. Anyone else gets 404 for
drafts (they must not even learn that a draft exists) and 403 for published or
superseded versions. Published and superseded versions are read-only: every
edit is refused with a message and changes nothing.
"""
from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from procure import inputs, policy
from procure.catalog import diff, forms, queries, services, xlsx, years
from procure.catalog.blueprint import bp
from procure.catalog.models import Catalog, CatalogStatus, Category, Item
from procure.extensions import db
from procure.geo import queries as geo_queries
from procure.geo.models import Division
from procure.private_pages import private_page
from procure.viewkit import act, found, submit

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- loading and authorizing ------------------------------------------------------


def _manageable_catalog(catalog_id: int, *, with_based_on: bool = False) -> Catalog:
    """The catalog, if the user may manage it (404 for hidden drafts, else 403)."""
    catalog = found(queries.get_catalog(db.session, catalog_id, with_based_on=with_based_on))
    policy.require(policy.can_manage_county_catalog(current_user, catalog.county_id), hide=not catalog.is_public)
    return catalog


def _editable_catalog(catalog_id: int):
    """(catalog, None) when the user may edit it; (catalog, redirect with a
    message) when it is published or superseded (read-only)."""
    catalog = _manageable_catalog(catalog_id)
    if policy.can_edit_catalog(current_user, catalog):
        return catalog, None
    flash(_("该目录版本已发布或已废止，只能查看和导出，不能修改；如需修改，请新建草稿。"), "warning")
    return catalog, redirect(url_for("catalog.manage_catalog", catalog_id=catalog.id))


def _category_of(catalog: Catalog, category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    policy.require(policy.belongs_to_catalog(category, catalog), hide=True)
    return category


def _item_of(catalog: Catalog, item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    policy.require(policy.belongs_to_catalog(item, catalog), hide=True)
    return item


# --- where to go back to ---------------------------------------------------------------


def _large(catalog: Catalog, item_total: int | None = None) -> bool:
    """A large catalog is shown as an outline (levels 1 and 2); the officer opens
    one level-2 category at a time to see and edit its items."""
    if item_total is None:
        item_total = queries.item_total(db.session, catalog)
    return item_total > current_app.config["CATALOG_TREE_INLINE_ITEMS"]


def _focus_of(category: Category | None) -> int | None:
    """The level-2 category whose page shows ``category`` in a large catalog."""
    if category is None or category.level < 2:
        return None
    return category.path[1].id


def _to_catalog(catalog: Catalog, anchor: str | None = None, focus: int | None = None):
    """Back to the catalog page, on the part that was just changed."""
    cat = focus if focus is not None and _large(catalog) else None
    return redirect(url_for("catalog.manage_catalog", catalog_id=catalog.id, cat=cat, _anchor=anchor))


# --- template helpers ---------------------------------------------------------------------


@bp.app_template_global("catalog_status_label")
def catalog_status_label(catalog: Catalog) -> str:
    return {
        CatalogStatus.DRAFT: _("草稿"),
        CatalogStatus.PUBLISHED: _("已发布"),
        CatalogStatus.SUPERSEDED: _("已废止"),
    }[catalog.status]


@bp.app_template_global("catalog_period_label")
def catalog_period_label(catalog: Catalog) -> str:
    return years.period_label(catalog)


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


# --- catalogs ----------------------------------------------------------------------------


def _new_draft_form(county: Division, published: list[Catalog] | None = None) -> forms.NewDraftForm:
    if published is None:
        published = queries.published_versions(db.session, county.id)
    return forms.NewDraftForm(prefix=f"county{county.id}", published=published)


@bp.route("/manage/catalogs")
@login_required
@private_page()
def manage_index():
    """The officer's counties, each with its versions: three statements (the
    counties, the versions with their item numbers, the site bar's counts)
    whatever the number of counties and versions."""
    counties = geo_queries.divisions_by_ids(db.session, policy.officer_county_ids(current_user))
    policy.require(bool(counties))
    this_year = str(years.this_year())
    by_county: dict[int, list[Catalog]] = {county.id: [] for county in counties}
    totals = {}
    for catalog, n in queries.catalogs_of_counties(db.session, by_county):
        by_county[catalog.county_id].append(catalog)
        totals[catalog.id] = n
    sections = []
    for county in counties:
        catalogs = by_county[county.id]
        # Newest year first, as queries.published_versions.
        form = _new_draft_form(county, [c for c in catalogs if c.status == CatalogStatus.PUBLISHED])
        if form.year.data is None:
            form.year.data = this_year
        sections.append((county, catalogs, form))
    return render_template("catalog/manage_index.html", sections=sections, totals=totals)


@bp.route("/manage/counties/<code>/catalogs", methods=["POST"])
@login_required
def manage_create_draft(code: str):
    county = found(geo_queries.county_by_code(db.session, code))
    policy.require(policy.can_manage_county_catalog(current_user, county.id))
    form = _new_draft_form(county)

    def create() -> Catalog:
        source = queries.get_catalog(db.session, int(form.copy_from.data)) if form.copy_from.data else None
        return services.create_draft(
            db.session, county=county, year=int(form.year.data), user=current_user, copy_from=source
        )

    def created(catalog: Catalog) -> str:
        if catalog.based_on is not None:
            return _("已新建 %(year)d 年第 %(version)d 版草稿，内容复制自 %(source_year)d 年第 %(source)d 版。",
                     year=catalog.year, version=catalog.version, source_year=catalog.based_on.year,
                     source=catalog.based_on.version)
        return _("已新建 %(year)d 年第 %(version)d 版空白草稿。", year=catalog.year, version=catalog.version)

    done = submit(form, create, success=created, flash_errors=True)
    return _to_catalog(done.value) if done else redirect(url_for("catalog.manage_index"))


@bp.route("/manage/catalogs/<int:catalog_id>")
@login_required
@private_page()
def manage_catalog(catalog_id: int):
    """The catalog as a tree. Small catalogs show every item; large ones show
    levels 1 and 2 (``outline``), and ``?cat=ID`` shows one category's subtree."""
    catalog = _manageable_catalog(catalog_id, with_based_on=True)
    counts, item_total = queries.category_counts(db.session, catalog)
    large = _large(catalog, item_total)
    focus = None
    if request.args.get("cat"):
        cat = inputs.int_arg("cat")
        if cat is None:
            abort(404)
        focus = _category_of(catalog, cat)
        # A level-1 category of a large catalog is still shown as an outline.
        mode = "outline" if focus.level == 1 and large else "focus"
        tree = queries.editor_tree(db.session, catalog, root=focus, outline=mode == "outline")
    elif large:
        tree, mode = queries.editor_tree(db.session, catalog, outline=True), "outline"
    else:
        tree, mode = queries.editor_tree(db.session, catalog), "full"
    return render_template(
        "catalog/manage_catalog.html",
        catalog=catalog,
        tree=tree,
        mode=mode,
        focus=focus,
        ancestors=focus.path[:-1] if focus is not None else [],
        counts=counts,
        editable=policy.can_edit_catalog(current_user, catalog),
        item_total=item_total,
        based_on=catalog.based_on,
        describe_types=forms.describe_types,
    )


# --- categories -----------------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/categories", methods=["POST"])
@login_required
def manage_add_category(catalog_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    if refusal:
        return refusal
    form = forms.CategoryForm()
    parent = None
    if form.parent_id.data:
        parent_id = inputs.parse_int(form.parent_id.data)
        if parent_id is None:
            abort(404)
        parent = _category_of(catalog, parent_id)
    done = submit(
        form,
        lambda: services.add_category(db.session, catalog, name=form.name.data, parent=parent),
        success=lambda category: _("已添加目录 %(code)s %(name)s。", code=category.code, name=category.name),
        flash_errors=True,
    )
    if done:
        return _to_catalog(catalog, f"cat-{done.value.id}", _focus_of(done.value))
    return _to_catalog(catalog, f"cat-{parent.id}" if parent else None, _focus_of(parent))


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>")
@login_required
def manage_category(catalog_id: int, category_id: int):
    """A category's own page: rename it, add a subcategory (or an item), delete
    it (the catalog page links here once per category instead of repeating
    these forms for every one)."""
    catalog, refusal = _editable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if refusal:
        return refusal
    counts, item_total = queries.category_counts(db.session, catalog)
    return render_template(
        "catalog/manage_category.html",
        catalog=catalog,
        category=category,
        ancestors=category.path[:-1],
        focus=_focus_of(category) if _large(catalog, item_total) else None,
        item_count=counts.get(category.id, 0),
    )


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>/rename", methods=["POST"])
@login_required
def manage_rename_category(catalog_id: int, category_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if refusal:
        return refusal
    focus = _focus_of(category)
    form = forms.CategoryForm()
    submit(
        form,
        lambda: services.rename_category(db.session, category, form.name.data),
        success=lambda _none: _("目录 %(code)s 已改名为 %(name)s。", code=category.code, name=category.name),
        flash_errors=True,
    )
    return _to_catalog(catalog, f"cat-{category_id}", focus)


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>/delete", methods=["POST"])
@login_required
def manage_delete_category(catalog_id: int, category_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if refusal:
        return refusal
    focus, parent_focus = _focus_of(category), _focus_of(category.parent)
    parent_anchor = f"cat-{category.parent_id}" if category.parent_id else None
    done = submit(
        forms.ConfirmForm(),
        lambda: services.delete_category(db.session, category),
        success=_("已删除目录 %(label)s。", label=f"{category.code} {category.name}"),
        flash_errors=True,
    )
    if done:
        return _to_catalog(catalog, parent_anchor, parent_focus)
    return _to_catalog(catalog, f"cat-{category_id}", focus)


# --- items ------------------------------------------------------------------------


def _item_form_page(catalog: Catalog, category: Category, item: Item | None, form):
    return render_template(
        "catalog/manage_item_form.html", catalog=catalog, category=category, item=item, form=form,
        focus=_focus_of(category) if _large(catalog) else None,
    )


@bp.route("/manage/catalogs/<int:catalog_id>/categories/<int:category_id>/items/new", methods=["GET", "POST"])
@login_required
def manage_add_item(catalog_id: int, category_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    category = _category_of(catalog, category_id)
    if refusal:
        return refusal
    if category.level != 3:
        flash(_("服务事项只能挂在三级目录下。"), "danger")
        return _to_catalog(catalog, f"cat-{category.id}", _focus_of(category))
    form = forms.ItemForm()
    done = submit(
        form,
        lambda: services.add_item(db.session, category, form.to_data()),
        success=lambda item: _("已添加服务事项 %(code)s %(name)s。", code=item.code, name=item.name),
    )
    if done:
        return _to_catalog(catalog, f"item-{done.value.id}", _focus_of(category))
    return _item_form_page(catalog, category, None, form)


@bp.route("/manage/catalogs/<int:catalog_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def manage_edit_item(catalog_id: int, item_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    item = _item_of(catalog, item_id)
    if refusal:
        return refusal
    form = forms.ItemForm(item=item)
    if submit(
        form,
        lambda: services.update_item(db.session, item, form.to_data()),
        success=lambda _none: _("已保存服务事项 %(code)s %(name)s。", code=item.code, name=item.name),
    ):
        return _to_catalog(catalog, f"item-{item.id}", _focus_of(item.category))
    return _item_form_page(catalog, item.category, item, form)


@bp.route("/manage/catalogs/<int:catalog_id>/items/<int:item_id>/delete", methods=["POST"])
@login_required
def manage_delete_item(catalog_id: int, item_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    item = _item_of(catalog, item_id)
    if refusal:
        return refusal
    focus, category_id = _focus_of(item.category), item.category_id
    parent_id = item.category.parent_id

    def deleted(removed: Category | None) -> str:
        label = f"{item.code} {item.name}"
        if removed is not None:
            return _("已删除服务事项 %(label)s；三级目录 %(category)s 已没有服务事项，一并删除。",
                     label=label, category=f"{removed.code} {removed.name}")
        return _("已删除服务事项 %(label)s。", label=label)

    done = submit(
        forms.ConfirmForm(),
        lambda: services.delete_item(db.session, item),
        success=deleted,
        flash_errors=True,
    )
    if not done:
        return _to_catalog(catalog, f"item-{item_id}", focus)
    return _to_catalog(catalog, f"cat-{parent_id}" if done.value is not None else f"cat-{category_id}", focus)


# --- publication and deletion ---------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/publish", methods=["GET", "POST"])
@login_required
def manage_publish(catalog_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    if refusal:
        return refusal
    form = forms.PublishForm()

    def published(previous: Catalog | None) -> str:
        if previous is not None:
            return _("%(year)d 年第 %(version)d 版已发布，原第 %(old)d 版已废止。",
                     year=catalog.year, version=catalog.version, old=previous.version)
        return _("%(year)d 年第 %(version)d 版已发布，公众现在可以查看。", year=catalog.year, version=catalog.version)

    if submit(form, lambda: services.publish(db.session, catalog, current_user), success=published):
        return _to_catalog(catalog)
    return render_template(
        "catalog/manage_publish.html",
        catalog=catalog,
        form=form,
        current=queries.current_published(db.session, catalog.county_id, catalog.year),
        period=_publish_period(catalog),
        item_total=queries.item_total(db.session, catalog),
        category_total=queries.category_total(db.session, catalog),
    )


def _publish_period(catalog: Catalog) -> str:
    """What the draft will be once published: current, next year's or a past year's."""
    year = years.this_year()
    if catalog.year == year:
        return years.CURRENT
    return years.NEXT if catalog.year > year else years.PAST


@bp.route("/manage/catalogs/<int:catalog_id>/delete", methods=["GET", "POST"])
@login_required
def manage_delete_draft(catalog_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    if refusal:
        return refusal
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        return render_template("catalog/manage_delete.html", catalog=catalog, form=form)
    deleted = _("已删除 %(year)d 年第 %(version)d 版草稿。", year=catalog.year, version=catalog.version)
    if act(lambda: services.delete_draft(db.session, catalog), success=deleted):
        return redirect(url_for("catalog.manage_index"))
    return _to_catalog(catalog)


# --- XLSX import and export, changes ------------------------------------------------------


@bp.route("/manage/catalogs/<int:catalog_id>/import", methods=["GET", "POST"])
@login_required
def manage_import(catalog_id: int):
    catalog, refusal = _editable_catalog(catalog_id)
    if refusal:
        return refusal
    form = forms.ImportForm()
    done = submit(
        form,
        lambda: xlsx.import_catalog(
            db.session, catalog, form.file.data.stream, max_rows=current_app.config["CATALOG_IMPORT_MAX_ROWS"]
        ),
        success=lambda report: _("导入成功：%(categories)d 个目录、%(items)d 个服务事项。",
                                 categories=report.categories, items=report.items),
    )
    if done:
        report = done.value
        for message in report.skipped_messages():
            flash(message, "info")
        if report.notes:
            flash(_("表尾说明（%(n)d 行）已保存为目录的说明，发布后随目录公开。", n=len(report.notes.splitlines())),
                  "info")
        return _to_catalog(catalog)
    return render_template(
        "catalog/manage_import.html",
        catalog=catalog,
        form=form,
        problems=getattr(done.error, "problems", []),
        max_bytes=current_app.config["CATALOG_IMPORT_MAX_BYTES"],
        max_rows=current_app.config["CATALOG_IMPORT_MAX_ROWS"],
    )


@bp.route("/manage/catalogs/import-template.xlsx")
@login_required
def import_template():
    """An empty county table with the expected columns and one example row."""
    policy.require(policy.can_import_catalogs(current_user))
    response = make_response(xlsx.template_workbook())
    response.headers["Content-Type"] = XLSX_MIMETYPE
    response.headers["Content-Disposition"] = (
        "attachment; filename=\"catalog-import-template.xlsx\"; "
        f"filename*=UTF-8''{quote(xlsx.TEMPLATE_FILENAME, safe='')}"
    )
    return response


@bp.route("/manage/catalogs/<int:catalog_id>/export")
@login_required
def manage_export(catalog_id: int):
    catalog = _manageable_catalog(catalog_id)
    name = f"{catalog.county.name}-{catalog.year}-v{catalog.version}.xlsx"
    fallback = f"catalog-{catalog.county.code}-{catalog.year}-v{catalog.version}.xlsx"
    response = make_response(xlsx.export_catalog(catalog))
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
    return render_template(
        "catalog/manage_changes.html",
        catalog=catalog,
        previous=previous,
        changes=diff.compare(previous, catalog) if previous is not None else None,
        labels=forms.undertaker_labels(),
    )
