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


@bp.route("/counties/<code>")
def county(code: str):
    county = geo_queries.county_by_code(db.session, code) or abort(404)
    catalog = queries.current_published(db.session, county.id) or abort(404)
    tree = queries.categories_tree(db.session, catalog)
    return render_template("catalog/county.html", county=county, catalog=catalog, tree=tree)


# === officer management ======================================================


@bp.route("/manage/catalogs")
@login_required
def manage_index():
    return render_template("catalog/manage_index.html")
