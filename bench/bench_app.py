"""The application as ``bench/bid_submit.py`` serves it through gunicorn: the
real app, plus two comparison endpoints that exist only here (never in the
shipped app):

* ``POST /bench/naive-bid``: one INSERT of the same columns as a bid
  submission (a ``bid_versions`` row with a sealed blob of the same size)
  and COMMIT, no checks, no encryption, no digest, no outbox row;
* ``GET /bench/hello``: a Flask hello endpoint.

    gunicorn --pythonpath bench 'bench_app:create()'
"""
from __future__ import annotations

import os
import secrets

from flask import Blueprint, request
from sqlalchemy import text

from procure import create_app
from procure.extensions import csrf, db

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.route("/hello")
def hello():
    return "hello"


@bp.route("/naive-bid", methods=["POST"])
def naive_bid():
    db.session.execute(
        text("INSERT INTO bid_versions (bid_id, number, kind, submitted_at, digest, sealed, submitted_by_id) "
             "VALUES (:bid, :number, 'submission', now(), :digest, :sealed, :user)"),
        {"bid": int(request.form["bid_id"]), "number": secrets.randbits(31), "digest": secrets.token_hex(32),
         "sealed": os.urandom(int(request.form.get("size", "400"))), "user": int(request.form["user_id"])},
    )
    db.session.commit()
    return "ok"


def create():
    app = create_app()
    app.register_blueprint(bp)
    csrf.exempt(bp)
    return app
