"""Every schema change is a migration: the migrated database matches the models,
there is a single head, and the chain runs down and up again."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from procure import create_app
from procure.catalog.search import include_object
from procure.extensions import db


def test_single_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        # The search indexes of migration 0011 are not in the models (catalog/search.py).
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production-use",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite'}",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with other.app_context():
        upgrade()
        downgrade(revision="base")
        assert db.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert {"catalogs", "organizations", "notifications"} <= set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
