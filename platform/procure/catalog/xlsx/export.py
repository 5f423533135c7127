"""Export: a catalog as an XLSX in the import format (export layout)."""
from __future__ import annotations

import io

from procure.catalog.models import Catalog, Category, Item
from procure.catalog.undertakers import format_cell
from procure.catalog.xlsx.table import (
    BUDGET,
    CODE,
    CONTENT,
    DEPT,
    ITEM,
    L1,
    L2,
    L3,
    MASS_FIRST,
    NOTES,
    SEQ,
    TEN_THOUSAND,
    TYPES,
)

EXPORT_COLUMNS = [
    (SEQ, "序号", 6),
    (CODE, "编码", 10),
    (L1, "一级目录", 16),
    (L2, "二级目录", 16),
    (L3, "三级目录", 24),
    (ITEM, "服务事项", 24),
    (CONTENT, "服务内容", 40),
    (DEPT, "购买主体", 16),
    (TYPES, "承接主体类型", 24),
    (MASS_FIRST, "群团组织优先承接", 10),
    (BUDGET, "参考预算（万元）", 12),
    (NOTES, "备注", 24),
]


def export_filename(catalog: Catalog) -> str:
    return f"{catalog.county.name}{catalog.year}年指导性目录-第{catalog.version}版.xlsx"


def export_catalog(catalog: Catalog) -> bytes:
    """The catalog as an XLSX in the import format (export layout): re-importing it
    into an empty draft gives the same categories, codes and items."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    categories = {c.id: c for c in catalog.categories}
    parent_ids = {c.parent_id for c in categories.values()}
    items_by_category: dict[int, list[Item]] = {}
    for item in catalog.items:
        items_by_category.setdefault(item.category_id, []).append(item)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指导性目录"
    width = len(EXPORT_COLUMNS)
    ws.cell(row=1, column=1, value=_safe(catalog.title, ILLEGAL_CHARACTERS_RE)).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    for index, (_, label, col_width) in enumerate(EXPORT_COLUMNS, start=1):
        cell = ws.cell(row=2, column=index, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(index)].width = col_width
    ws.freeze_panes = "A3"

    def path(category: Category) -> list[str]:
        names = []
        node: Category | None = category
        while node is not None:
            names.append(node.name)
            node = categories.get(node.parent_id) if node.parent_id else None
        return list(reversed(names))

    rows: list[tuple[str, list]] = []
    seq = 0
    for category in sorted(categories.values(), key=lambda c: c.code):
        own_items = sorted(items_by_category.get(category.id, []), key=lambda i: i.code)
        if category.level < 3 and category.id in parent_ids:
            continue
        if not own_items:
            names = path(category) + [""] * (3 - category.level)
            rows.append((category.code, [None, category.code, *names, None, None, None, None, None, None, None]))
            continue
        names = path(category)
        for item in own_items:
            seq += 1
            budget = float(item.reference_budget / TEN_THOUSAND) if item.reference_budget is not None else None
            rows.append((item.code, [
                seq,
                item.code,
                *names,
                item.name,
                item.service_content,
                item.purchasing_department,
                format_cell(item.undertaker_types, item.undertaker_notes),
                "是" if item.mass_org_first else "否",
                budget,
                item.notes,
            ]))
    wrap = Alignment(vertical="top", wrap_text=True)
    keys = [key for key, _, _ in EXPORT_COLUMNS]
    budget_column = keys.index(BUDGET) + 1
    # Styling every cell costs more than writing it: wrap only the long-text columns.
    wrapped = {keys.index(key) + 1 for key in (CONTENT, TYPES, NOTES)}
    for offset, (_, values) in enumerate(rows):
        row_number = 3 + offset
        for index, value in enumerate(values, start=1):
            if value is None or value == "":
                continue
            cell = ws.cell(row=row_number, column=index)
            if isinstance(value, str):
                cell.value = _safe(value, ILLEGAL_CHARACTERS_RE)
                cell.data_type = "s"  # never a formula, even when the text starts with "="
            else:
                cell.value = value
            if index in wrapped:
                cell.alignment = wrap
        ws.cell(row=row_number, column=budget_column).number_format = "0.00####"
    # The county's explanatory notes under the table, one line per row (re-imported as notes).
    note_lines = [line for line in (catalog.notes or "").splitlines() if line.strip()]
    for offset, line in enumerate(note_lines):
        cell = ws.cell(row=3 + len(rows) + 1 + offset, column=1, value=_safe(line, ILLEGAL_CHARACTERS_RE))
        cell.data_type = "s"
    about = wb.create_sheet("导出说明")
    about.cell(
        row=1,
        column=1,
        value=f"说明：本表由政府购买服务平台导出（{catalog.county.name}{catalog.year}年，第{catalog.version}版）。"
        "参考预算单位为万元；“编码”“服务事项”“群团组织优先承接”列供重新导入使用。",
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _safe(text: str, illegal) -> str:
    return illegal.sub("", text or "")


TEMPLATE_COLUMNS = [
    ("序号", 6, 1),
    ("一级目录", 16, "公共服务"),
    ("二级目录", 16, "社会救助"),
    ("三级目录（具体服务事项）", 28, "困难群众走访慰问与需求评估"),
    ("服务内容", 40, "对辖区困难群众开展入户走访，建立需求台账。"),
    ("购买主体", 16, "乡镇民政办"),
    ("承接主体类型", 24, "社会组织；群团组织"),
    ("参考预算（万元）", 12, 2.5),
    ("备注", 24, "群团组织优先承接"),
]
TEMPLATE_FILENAME = "指导性目录导入模板.xlsx"


def template_workbook() -> bytes:
    """An empty county table to fill in: a title, the expected columns and one
    example row, then a notes line (the importer keeps such lines as notes)."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指导性目录"
    ws.cell(row=1, column=1, value="某县2026年乡镇政府购买服务指导性目录").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(TEMPLATE_COLUMNS))
    for index, (label, width, example) in enumerate(TEMPLATE_COLUMNS, start=1):
        cell = ws.cell(row=2, column=index, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(index)].width = width
        ws.cell(row=3, column=index, value=example)
    ws.cell(row=5, column=1, value="注：1. 表尾的说明文字会作为目录的说明一并导入；2. 示例行请替换为本县的服务事项。")
    ws.merge_cells(start_row=5, start_column=1, end_row=5, end_column=len(TEMPLATE_COLUMNS))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
