"""procure: the open platform for county government purchase of services."""
from __future__ import annotations

from flask import Flask

from procure import config as config_module
from procure.config import PROJECT_ROOT


def create_app(config: dict | None = None) -> Flask:
    settings = config_module.load(config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)

    from procure import web

    web.init_app(app)
    return app
