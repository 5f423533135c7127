"""XLSX import and export of catalogs."""
from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from procure.catalog import services, xlsx
from procure.catalog.models import Catalog
from procure.catalog.services import ItemData
from procure.errors import DomainError
from tests import factories
from tests.conftest import SAMPLE_XLSX

HEADER = ["序号", "一级目录", "二级目录", "三级目录（具体服务事项）", "服务内容", "购买主体", "承接主体类型", "备注"]


def make_xlsx(rows, *, title="某县2026年乡镇政府购买服务指导性目录", header=HEADER, merges=(), sheets=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    if header:
        ws.append(header)
    for row in rows:
        ws.append(list(row))
    for merged in merges:
        ws.merge_cells(merged)
    for name, extra_rows in (sheets or {}).items():
        other = wb.create_sheet(name)
        for row in extra_rows:
            other.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def row(name, *, l1="公共服务", l2="社会救助", content="内容", dept="乡镇民政办", types="社会组织", notes=None, seq=None):
    return [seq, l1, l2, name, content, dept, types, notes]


def draft(year=2026, county_code="371321") -> Catalog:
    catalog = services.create_draft(
        factories.db.session, county=factories.county(county_code), year=year, user=None
    )
    factories.db.session.flush()
    return catalog


def snapshot(catalog: Catalog):
    """Everything an import or export must preserve, independent of ids."""
    categories = {c.id: c for c in catalog.categories}
    cats = sorted(
        (c.level, c.code, c.name, categories[c.parent_id].code if c.parent_id else None)
        for c in catalog.categories
    )
    items = sorted(
        (
            i.code,
            categories[i.category_id].code,
            i.name,
            i.service_content,
            i.purchasing_department,
            tuple(i.undertaker_types),
            tuple(sorted(i.undertaker_notes.items())),
            i.mass_org_first,
            i.notes,
            None if i.reference_budget is None else Decimal(i.reference_budget).quantize(Decimal("0.01")),
        )
        for i in catalog.items
    )
    return cats, items


def problems_of(exc_info) -> list[tuple]:
    return [(p.row, p.column, str(p.message)) for p in exc_info.value.problems]


# --- the real county table ------------------------------------------------------------------


def test_imports_the_sample_county_table(session):
    catalog = draft()
    report = xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    session.commit()

    assert (report.items, report.levels, report.categories) == (40, (2, 23, 40), 65)  # the README says 21 level-2; the file has 23
    assert report.title == "沂南县2026年乡镇政府购买服务指导性目录"
    assert report.rows == 40
    session.expire_all()
    by_code = {c.code: c for c in catalog.categories}
    assert by_code["A"].name == "公共服务" and by_code["B"].name == "政府履职所需辅助性服务"
    assert by_code["A01"].name == "社会救助" and by_code["A0101"].name == "困难群众走访慰问与需求评估"
    items = {i.name: i for i in catalog.items}
    assert len(items) == 40
    first = items["困难群众走访慰问与需求评估"]
    assert first.code == "A010101"
    assert first.undertaker_types == ["mass_organization", "social_organization"]
    assert first.notes == "每季度不少于一次全覆盖走访"
    # Row 2 of the data: level 1 and 2 come from the merged cells above.
    second = items["临时救助对象家庭经济状况核查辅助"]
    assert second.category.parent.name == "社会救助" and second.code == "A010201"
    # 群团组织优先承接 in 备注 sets the flag, and what the county wrote is kept.
    care = items["农村留守儿童关爱服务"]
    assert care.mass_org_first is True and care.notes == "群团组织优先承接"
    assert sum(i.mass_org_first for i in catalog.items) == 4
    lawyer = items["村（居）法律顾问"]
    assert lawyer.undertaker_types == ["enterprise", "social_organization"]
    assert lawyer.undertaker_notes == {"enterprise": "律师事务所"}
    institution = items["老年人能力综合评估"]
    assert institution.undertaker_types == ["public_institution", "social_organization"]
    assert institution.undertaker_notes == {}
    assert items["会务组织"].code.startswith("B") and items["会务组织"].category.parent.parent.code == "B"
    # The note row after the data is not an item.
    assert not any(i.name.startswith("说明") for i in catalog.items)


def test_sample_round_trip_is_exact(session):
    first = draft(2026)
    xlsx.import_catalog(session, first, SAMPLE_XLSX.read_bytes())
    session.commit()
    session.expire_all()
    exported = xlsx.export_catalog(first)

    second = draft(2027)
    report = xlsx.import_catalog(session, second, exported)
    session.commit()
    session.expire_all()
    assert report.items == 40
    assert snapshot(first) == snapshot(second)
    # Exporting the re-imported catalog gives the same table.
    again = openpyxl.load_workbook(io.BytesIO(xlsx.export_catalog(second))).active
    original = openpyxl.load_workbook(io.BytesIO(exported)).active
    assert [r for r in again.iter_rows(min_row=2, values_only=True)][:-1] == [
        r for r in original.iter_rows(min_row=2, values_only=True)
    ][:-1]


def test_edge_case_round_trip_is_exact(session):
    """Empty categories, code gaps, several items per level-3 category, formulas,
    multi-line text, budgets, notes and flags that could be confused."""
    catalog = draft(2026)
    a = services.add_category(session, catalog, name="公共服务")
    b = services.add_category(session, catalog, name="待删除")
    services.add_category(session, catalog, name="空的一级目录")  # C, empty
    services.delete_category(session, b)  # codes A, C: a gap at B
    a1 = services.add_category(session, catalog, name="养老服务", parent=a)
    services.add_category(session, catalog, name="空的二级目录", parent=a)  # A02, empty
    a101 = services.add_category(session, catalog, name="居家养老", parent=a1)
    services.add_category(session, catalog, name="空的三级目录", parent=a1)  # A0102, empty
    services.add_item(session, a101, ItemData(
        name="上门助餐",
        service_content="第一行\r\n第二行：=不是公式",
        purchasing_department="乡镇民政办",
        undertaker_types=["social_organization", "enterprise", "individual"],
        undertaker_notes={"enterprise": "餐饮企业（持证）、养老机构"},
        mass_org_first=False,
        notes="群团组织优先承接（仅作说明，未勾选）",  # the phrase in notes without the flag
        reference_budget=Decimal("123456.78"),
    ))
    gone = services.add_item(session, a101, ItemData(name="待删除事项", undertaker_types=["enterprise"]))
    services.add_item(session, a101, ItemData(
        name="=SUM(A1:A3)",
        undertaker_types=["public_institution", "village_organization", "rural_collective", "mass_organization"],
        undertaker_notes={"public_institution": "检测机构"},
        mass_org_first=True,
        notes="每月结算；群团组织优先承接",
        reference_budget=Decimal("0"),
    ))
    services.add_item(session, a101, ItemData(
        name="2026", undertaker_types=["enterprise"], reference_budget=Decimal("999999999999.99")
    ))
    services.add_item(session, a101, ItemData(
        name="小额", undertaker_types=["enterprise"], reference_budget=Decimal("0.01"), mass_org_first=True
    ))
    services.delete_item(session, gone)  # item codes A010101, A010103.. with a gap
    session.commit()
    session.expire_all()
    before = snapshot(catalog)
    assert ("A010102" not in {i[0] for i in before[1]}) and any(c[1] == "C" for c in before[0])

    exported = xlsx.export_catalog(catalog)
    copy = draft(2027)
    xlsx.import_catalog(session, copy, exported)
    session.commit()
    session.expire_all()
    assert snapshot(copy) == before

    # The formula-like name is stored as text in the file, not as a formula.
    ws = openpyxl.load_workbook(io.BytesIO(exported)).active
    cell = next(c for r in ws.iter_rows() for c in r if c.value == "=SUM(A1:A3)")
    assert cell.data_type == "s"


def test_import_replaces_the_draft_contents(session):
    catalog = draft()
    xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    session.commit()
    data = make_xlsx([row("唯一事项")])
    report = xlsx.import_catalog(session, catalog, data)
    session.commit()
    session.expire_all()
    assert report.items == 1
    assert [i.name for i in catalog.items] == ["唯一事项"]
    assert [c.code for c in catalog.categories] == ["A", "A01", "A0101"]


def test_import_accepts_a_file_object(session):
    catalog = draft()
    with SAMPLE_XLSX.open("rb") as fh:
        report = xlsx.import_catalog(session, catalog, fh)
    assert report.items == 40


def test_import_refuses_a_published_catalog(session):
    catalog = draft()
    xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    services.publish(session, catalog, None)
    session.commit()
    with pytest.raises(DomainError):
        xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())


# --- tolerated variations -----------------------------------------------------------------------


def test_header_variants_column_order_separators_and_budget_units(session):
    header = ["承接主体 ", "参考预算(元)", " 三级目录 (具体服务事项)", "二级目录", "一级目录", "说明", "购买 主体", "备 注"]
    rows = [
        ["社会团体、 民办非企业单位；基金会", 15000, "事项甲", "社会救助", "公共服务", "内容甲", "民政办", "群团组织优先承接。按季度结算"],
        ["企业 ,个人;村（居）委会，农村集体经济组织", "2,500.5", "事项乙", "社会救助", "公共服务", "内容乙", "民政办", None],
        ["事业单位(公益二类)；群团组织", None, "事项丙", "养老服务", "公共服务", None, None, "  "],
    ]
    catalog = draft()
    report = xlsx.import_catalog(session, catalog, make_xlsx(rows, title=None, header=header))
    session.commit()
    session.expire_all()
    assert report.items == 3 and report.title is None
    items = {i.name: i for i in catalog.items}
    assert items["事项甲"].undertaker_types == ["social_organization"]
    assert items["事项甲"].reference_budget == Decimal("15000.00")
    assert items["事项甲"].mass_org_first is True and items["事项甲"].notes == "群团组织优先承接。按季度结算"
    assert items["事项甲"].service_content == "内容甲"
    assert items["事项乙"].undertaker_types == ["enterprise", "individual", "rural_collective", "village_organization"]
    assert items["事项乙"].reference_budget == Decimal("2500.50")
    assert items["事项丙"].undertaker_types == ["mass_organization", "public_institution"]
    assert items["事项丙"].purchasing_department == "" and items["事项丙"].notes == ""


def test_budget_in_ten_thousand_yuan_and_item_column(session):
    header = ["编码", "一级目录", "二级目录", "三级目录", "项目名称", "承接主体类型", "参考预算（万元）"]
    rows = [
        ["A000101", "公共服务", "养老服务", "居家养老", "助餐", "企业", 1.5],
        [None, "公共服务", "养老服务", "居家养老", "助浴", "企业", "0.000001"],
        ["B", "辅助服务", None, None, None, None, None],  # category-only row (invalid code hint for item ignored)
    ]
    catalog = draft()
    report = xlsx.import_catalog(session, catalog, make_xlsx(rows, header=header))
    session.commit()
    session.expire_all()
    assert report.items == 2 and report.levels == (2, 1, 1)
    items = {i.name: i for i in catalog.items}
    assert items["助餐"].reference_budget == Decimal("15000.00") and items["助餐"].code == "A010101"
    assert items["助浴"].reference_budget == Decimal("0.01") and items["助浴"].code == "A010102"
    assert {c.code: c.name for c in catalog.categories if c.level == 1} == {"A": "公共服务", "B": "辅助服务"}


def test_codes_of_the_file_are_kept_when_they_fit(session):
    header = ["编码", *HEADER[1:]]
    rows = [
        ["C0305", *row("甲")[1:]],  # level-3 code of a county table
        ["C0307", *row("乙")[1:]],
        ["C0305", *row("丙", l2="养老服务")[1:]],  # taken under C: 养老服务 gets the next free code
        ["bad", *row("丁", l1="辅助服务", l2="法律服务")[1:]],
    ]
    catalog = draft()
    xlsx.import_catalog(session, catalog, make_xlsx(rows, header=header))
    session.commit()
    session.expire_all()
    assert {i.name: i.code for i in catalog.items} == {
        "甲": "C030501", "乙": "C030701", "丙": "C010101", "丁": "A010101",
    }
    assert sorted(c.code for c in catalog.categories if c.level < 3) == ["A", "A01", "C", "C01", "C03"]


def test_header_on_a_later_sheet_and_note_rows_are_ignored(session):
    rows = [
        row("事项一"),
        [None] * 8,
        ["注：以上事项按年度调整。"],
        [None, None, None, None, None, None, None, "说明：仅供参考"],
        [41],  # a numbered empty row
    ]
    data = make_xlsx(rows, sheets={"封面": [["沂南县"], ["目录"]]})
    catalog = draft()
    assert xlsx.import_catalog(session, catalog, data).items == 1


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "序号,一级目录,二级目录\n1,公共服务,社会救助\n".encode("utf-8"),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        bytes(range(256)) * 8,
        b"PK\x03\x04" + b"\x00" * 200,  # a broken zip
        b"",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500,  # legacy .xls
    ],
    ids=["csv", "pdf", "garbage", "broken-zip", "empty-bytes", "xls"],
)
def test_refuses_files_that_are_not_xlsx(session, data):
    catalog = draft()
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, catalog, data)
    [(problem_row, column, message)] = problems_of(exc_info)
    assert problem_row is None and column is None
    assert "XLSX" in message or "xls" in message or "空" in message


def test_refuses_a_zip_that_is_not_a_workbook(session):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), buffer.getvalue())
    assert "XLSX" in problems_of(exc_info)[0][2]


def test_refuses_an_empty_sheet(session):
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), make_xlsx([], title=None, header=None))
    assert problems_of(exc_info) == [(None, None, "工作表是空的，没有任何内容。")]


def test_refuses_a_sheet_without_header(session):
    data = make_xlsx([["名称", "内容"], ["事项", "内容"]], header=["甲", "乙"])
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), data)
    [(_, _, message)] = problems_of(exc_info)
    assert message.startswith("未找到表头")


def test_refuses_a_header_without_data(session):
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), make_xlsx([]))
    assert "没有任何数据行" in problems_of(exc_info)[0][2]


def test_refuses_more_rows_than_the_limit(session):
    rows = [row(f"事项{i}") for i in range(4)]
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), make_xlsx(rows), max_rows=3)
    assert "最多导入 3 行" in problems_of(exc_info)[0][2]


def _big_file(n: int) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADER)
    for i in range(n):
        ws.append([i + 1, f"一级{i // 2500}", f"二级{i // 50}", f"事项{i}", "内容", "民政办", "社会组织", None])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_5001_rows_are_refused_and_5000_accepted(session):
    catalog = draft()
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, catalog, _big_file(5001))
    assert "5001" in problems_of(exc_info)[0][2] and "5000" in problems_of(exc_info)[0][2]
    report = xlsx.import_catalog(session, catalog, _big_file(5000))
    session.commit()
    assert report.items == 5000 and report.levels == (2, 100, 5000)


def test_reports_every_row_problem_at_once_and_changes_nothing(session):
    catalog = draft()
    xlsx.import_catalog(session, catalog, SAMPLE_XLSX.read_bytes())
    session.commit()
    before = snapshot(catalog)
    rows = [
        row("正常事项"),  # row 3
        row("未知类型", types="社会组织；居委"),  # row 4
        row(None, content="有内容但没有名称"),  # row 5
        row("缺二级", l2=None),  # row 6
        row("缺一级", l1=None),  # row 7
        row("正常事项"),  # row 8: duplicate of row 3
        row("没有类型", types=None),  # row 9
        row("正常事项", l2="养老服务"),  # row 10: same name, other category: fine
    ]
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, catalog, make_xlsx(rows))
    assert problems_of(exc_info) == [
        (4, "承接主体类型", "未知的承接主体类型“居委”。"),
        (5, "三级目录（具体服务事项）", "缺少服务事项名称。"),
        (6, "二级目录", "缺少二级目录（合并单元格会自动向下填充，未合并的空白单元格不会）。"),
        (7, "一级目录", "缺少一级目录（合并单元格会自动向下填充，未合并的空白单元格不会）。"),
        (8, "三级目录（具体服务事项）", "与第3行重复：同一三级目录下已有服务事项“正常事项”。"),
        (9, "承接主体类型", "缺少承接主体类型。"),
    ]
    # The offending cell's content is shown next to the message.
    assert str(exc_info.value.problems[0]) == "第4行「承接主体类型」：未知的承接主体类型“居委”。（单元格内容：“社会组织；居委”）"
    assert [p.value for p in exc_info.value.problems] == ["社会组织；居委", "", "", "", "正常事项", ""]
    session.rollback()
    session.expire_all()
    assert snapshot(catalog) == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("十万", "参考预算不是有效的金额：“十万”。"),
        (-1, "参考预算不能为负数。"),
        (0.0000001, "参考预算最多精确到分（0.01元）。"),
        (1e20, "参考预算过大。"),
    ],
)
def test_refuses_a_bad_budget(session, value, message):
    header = [*HEADER, "参考预算（万元）"]
    data = make_xlsx([[*row("事项"), value]], header=header)
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), data)
    assert problems_of(exc_info) == [(3, "参考预算（万元）", message)]


def test_refuses_a_bad_flag_and_overlong_names(session):
    header = ["一级目录", "二级目录", "三级目录", "服务事项", "承接主体类型", "群团组织优先承接"]
    rows = [
        ["公共服务", "养老", "居家", "助餐", "企业", "也许"],
        ["公共服务", "养老", "居家", "长" * 201, "企业", "否"],
        ["公共服务", "养老", None, "助浴", "企业", "是"],
    ]
    with pytest.raises(xlsx.ImportFailed) as exc_info:
        xlsx.import_catalog(session, draft(), make_xlsx(rows, header=header))
    assert problems_of(exc_info) == [
        (3, "群团组织优先承接", "应填写“是”或“否”，而不是“也许”。"),
        (4, "服务事项", "名称超过 200 个字。"),
        (5, "三级目录", "缺少三级目录。"),
    ]


def test_export_of_an_empty_draft_reimports_as_empty_refusal(session):
    catalog = draft()
    data = xlsx.export_catalog(catalog)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == catalog.title
    assert [c.value for c in ws[2]][:6] == ["序号", "编码", "一级目录", "二级目录", "三级目录", "服务事项"]
    with pytest.raises(xlsx.ImportFailed):
        xlsx.import_catalog(session, draft(2027), data)
