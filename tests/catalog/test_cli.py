"""``flask catalog import COUNTY_CODE YEAR FILE [--publish]``."""
from __future__ import annotations

from sqlalchemy import func, select

from procure.catalog.models import Catalog, CatalogStatus, Item
from procure.extensions import db
from tests import factories
from tests.catalog.test_import_notes import county_table_with_notes
from tests.catalog.test_xlsx import make_xlsx, row
from tests.conftest import SAMPLE_XLSX


def run(app, *args):
    return app.test_cli_runner().invoke(args=["catalog", "import", *map(str, args)])


def catalogs():
    db.session.expire_all()
    return list(db.session.scalars(select(Catalog).order_by(Catalog.id)))


def test_imports_a_draft_and_prints_the_report(app, session, tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(county_table_with_notes())
    result = run(app, "371321", 2026, path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "3 items" in result.output and "categories" in result.output
    assert "第 7–10 行为表尾说明，已忽略" in result.output
    (catalog,) = catalogs()
    assert catalog.status == CatalogStatus.DRAFT and catalog.year == 2026 and len(catalog.notes.splitlines()) == 3


def test_replaces_the_open_draft_and_publishes(app, session, tmp_path):
    first = tmp_path / "first.xlsx"
    first.write_bytes(make_xlsx([row("事项一"), row("事项二")]))
    assert run(app, "371321", 2026, first).exit_code == 0
    second = tmp_path / "sample.xlsx"
    second.write_bytes(SAMPLE_XLSX.read_bytes())
    result = run(app, "371321", 2026, second, "--publish")
    assert result.exit_code == 0, result.output + result.stderr
    (catalog,) = catalogs()  # the same draft, replaced, not a second version
    assert catalog.status == CatalogStatus.PUBLISHED and catalog.version == 1
    assert db.session.scalar(select(func.count()).select_from(Item)) == 40


def test_a_bad_file_imports_nothing_and_exits_non_zero(app, session, tmp_path):
    factories.catalog_with_items("371321", 2026, publish=False)
    before = db.session.scalar(select(func.count()).select_from(Item))
    path = tmp_path / "bad.xlsx"
    path.write_bytes(make_xlsx([row("事项一", types="外星组织")]))
    result = run(app, "371321", 2026, path)
    assert result.exit_code == 1
    assert "第3行「承接主体类型」" in result.stderr and "外星组织" in result.stderr
    assert db.session.scalar(select(func.count()).select_from(Item)) == before


def test_an_unknown_county_exits_non_zero(app, session, tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(make_xlsx([row("事项一")]))
    result = run(app, "999999", 2026, path)
    assert result.exit_code != 0 and catalogs() == []
