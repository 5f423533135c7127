from sqlalchemy import func, select

from procure.geo import queries, services
from procure.geo.models import Division, DivisionLevel
from tests.conftest import GEO_CSV


def test_real_divisions_are_loaded(session):
    yinan = queries.county_by_code(session, "371321")
    assert yinan.name == "沂南县"
    assert yinan.parent.code == "3713" and yinan.parent.name == "临沂市"
    townships = queries.townships_of(session, yinan)
    assert len(townships) == 15
    assert "界湖街道" in {t.name for t in townships}


def test_reimport_is_idempotent_and_updates_names(session):
    before = session.scalar(select(func.count()).select_from(Division))
    result = services.import_divisions(session, GEO_CSV.read_text(encoding="utf-8"))
    assert result.added == 0 and result.updated == 0
    assert session.scalar(select(func.count()).select_from(Division)) == before

    csv = "level,code,name,parent_code\ncounty,371321,沂南县（新）,3713\ntownship,371321999,测试新镇,371321\n"
    result = services.import_divisions(session, csv)
    assert (result.added, result.updated) == (1, 1)
    assert queries.county_by_code(session, "371321").name == "沂南县（新）"
    assert queries.by_code(session, "371321999").level == DivisionLevel.TOWNSHIP
    session.rollback()
