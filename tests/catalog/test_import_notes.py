"""The notes block under a county table: kept as the catalog's explanatory notes,
reported as skipped rows; exported and re-imported as notes."""
from __future__ import annotations

from procure.catalog import xlsx
from tests.catalog.test_xlsx import draft, make_xlsx, row

NOTES_BLOCK = [
    ["注：1. 本目录为指导性目录，各乡镇可结合实际细化。"],  # row 7 (first cell, starts with 注)
    ["2. 承接主体应具备相应资质。"],  # row 8: numbered, merged across the row
    ["各乡镇购买服务应纳入年度预算管理，资金不足的不得实施。"],  # rows 9-10: merged over two rows
    [None],
]


def county_table_with_notes() -> bytes:
    rows = [
        row("事项一", seq=1),  # row 3
        row("事项二", seq=2, notes="群团组织优先承接"),  # row 4
        row("事项三", seq=3, l2="养老服务"),  # row 5
        [],  # row 6: blank
        *NOTES_BLOCK,
    ]
    return make_xlsx(rows, merges=("A8:H8", "A9:H10"))


def test_notes_block_after_the_last_data_row_becomes_the_catalog_notes(session):
    catalog = draft()
    report = xlsx.import_catalog(session, catalog, county_table_with_notes())
    session.commit()
    assert report.items == 3
    assert catalog.notes.splitlines() == [
        "注：1. 本目录为指导性目录，各乡镇可结合实际细化。",
        "2. 承接主体应具备相应资质。",
        "各乡镇购买服务应纳入年度预算管理，资金不足的不得实施。",
    ]
    assert report.skipped == [7, 8, 9, 10]
    assert report.skipped_messages() == ["第 7–10 行为表尾说明，已忽略"]


def test_a_single_skipped_row_is_reported_alone(session):
    report = xlsx.import_catalog(session, draft(), make_xlsx([row("事项一"), ["2. 只有一行说明"]]))
    assert report.skipped_messages() == ["第 4 行为表尾说明，已忽略"]
    assert report.notes == "2. 只有一行说明"


def test_a_row_shaped_like_data_in_the_middle_is_still_data(session):
    """Only what follows the last data row is notes: a broken row above it is reported."""
    rows = [row("事项一"), [None, "2. 不在表尾"], row("事项二")]
    try:
        xlsx.import_catalog(session, draft(), make_xlsx(rows))
    except xlsx.ImportFailed as failed:
        assert [p.row for p in failed.problems] == [4, 4, 4]
    else:  # pragma: no cover - the rule under test
        raise AssertionError("a broken data row above the last data row was accepted")


def test_notes_are_exported_and_reimported(session):
    catalog = draft()
    xlsx.import_catalog(session, catalog, county_table_with_notes())
    session.commit()
    exported = xlsx.export_catalog(catalog)
    other = draft(year=2027)
    report = xlsx.import_catalog(session, other, exported)
    assert other.notes == catalog.notes
    assert report.items == 3


def test_reimport_without_notes_clears_them(session):
    catalog = draft()
    xlsx.import_catalog(session, catalog, county_table_with_notes())
    xlsx.import_catalog(session, catalog, make_xlsx([row("事项一")]))
    assert catalog.notes == ""
