"""The yardsticks of bench/web_load.py, served by gunicorn with the platform's flags.

    /hello   Flask's "hello": the cost of gunicorn + Flask routing, nothing else
    /naive   a naive page: 50 rows of an indexed table (divisions, by code) read with
             SQLAlchemy from the same database and rendered by a Jinja template

Not part of the application (bench/ only); the database URL is the platform's
``PROCURE_DATABASE_URL``.
"""
from __future__ import annotations

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>naive</title></head>
<body><main><h1>Divisions</h1>
<table><thead><tr><th>code</th><th>name</th><th>level</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.code }}</td><td>{{ row.name }}</td><td>{{ row.level }}</td></tr>
{% endfor %}</tbody></table></main></body></html>"""


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["PROCURE_DATABASE_URL"], pool_pre_ping=True)

    @app.route("/hello")
    def hello():
        return "Hello, World!"

    @app.route("/naive")
    def naive():
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT code, name, level FROM divisions ORDER BY code LIMIT 50")
            ).all()
        return render_template_string(PAGE, rows=rows)

    return app
