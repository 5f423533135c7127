"""Locating the table: the header row (found by its names in the first rows, columns
in any order), the title above it, and the data rows below it (note rows left out)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from procure.catalog.xlsx import cells as cellvalues
from procure.catalog.xlsx.problems import ImportFailed, Problem
from procure.catalog.xlsx.workbook import Row, sheet_rows

HEADER_SEARCH_ROWS = 20
TEN_THOUSAND = Decimal(10000)

SEQ, CODE, L1, L2, L3, ITEM, CONTENT, DEPT, TYPES, MASS_FIRST, BUDGET, NOTES = (
    "seq", "code", "l1", "l2", "l3", "item", "content", "dept", "types", "mass_first", "budget", "notes",
)

# Header names (after normalisation: NFKC, no whitespace, parenthesised part removed),
# by key; for a key, earlier names take precedence over later ones.
HEADER_NAMES: dict[str, list[str]] = {
    SEQ: ["序号", "顺序号"],
    CODE: ["编码", "目录编码", "事项编码", "项目编码", "分类编码", "代码", "目录代码"],
    L1: ["一级目录", "一级", "一级分类", "一级类目", "一级目录名称"],
    L2: ["二级目录", "二级", "二级分类", "二级类目", "二级目录名称"],
    L3: ["三级目录", "三级", "三级分类", "三级类目", "三级目录名称", "具体服务事项"],
    ITEM: ["服务事项", "服务事项名称", "事项名称", "项目名称", "服务项目", "具体事项"],
    CONTENT: ["服务内容", "服务内容/说明", "服务内容及要求", "服务内容说明", "主要内容", "内容", "说明"],
    DEPT: ["购买主体", "购买单位", "购买部门", "主管部门", "责任单位"],
    TYPES: ["承接主体类型", "承接主体", "承接主体类别", "承接主体范围"],
    MASS_FIRST: ["群团组织优先承接", "群团组织优先", "群团优先"],
    BUDGET: ["参考预算", "参考预算金额", "预算", "预算金额"],
    NOTES: ["备注"],
}
_HEADER_LOOKUP = {name: key for key, names in HEADER_NAMES.items() for name in names}
_PAREN = re.compile(r"\(([^()]*)\)")
_NOTE_ROW = re.compile(r"^(说明|注|备注|附注|注释|填表说明|附件)\s*\d*\s*[:：]")


def _header_key(text: str) -> tuple[str | None, str]:
    """(key, unit in parentheses) of a header cell, or (None, "")."""
    norm = cellvalues.SPACE.sub("", unicodedata.normalize("NFKC", text)).strip("*※:")
    units = _PAREN.findall(norm)
    base = _PAREN.sub("", norm)
    return _HEADER_LOOKUP.get(base) or _HEADER_LOOKUP.get(norm), (units[-1] if units else "")


@dataclass
class Header:
    row: int
    columns: dict[str, int]  # key -> 0-based column index
    names: dict[str, str]  # key -> header text as written
    budget_multiplier: Decimal = TEN_THOUSAND

    @property
    def export_layout(self) -> bool:
        return L3 in self.columns and ITEM in self.columns

    @property
    def name_key(self) -> str:
        """The column naming the item in the county layout."""
        return L3 if L3 in self.columns else ITEM


def find_header(rows: list[Row]) -> Header | None:
    """The first row (of the first HEADER_SEARCH_ROWS) naming the required columns."""
    for number, cells in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        columns: dict[str, int] = {}
        names: dict[str, str] = {}
        units: dict[str, str] = {}
        for col in sorted(cells):
            value = cells[col]
            if not isinstance(value, str):
                continue
            key, unit = _header_key(value)
            if key is None:
                continue
            if key in columns:
                # 服务内容 wins over a second content-like column (e.g. 说明) and so on.
                continue
            columns[key], names[key], units[key] = col, " ".join(value.split()), unit
        if {L1, L2, TYPES} <= columns.keys() and (L3 in columns or ITEM in columns):
            header = Header(number, columns, names)
            if BUDGET in columns and units[BUDGET] == "元":
                header.budget_multiplier = Decimal(1)
            return header
    return None


def _data_cells(cells: dict[int, Any], header: Header) -> int:
    """How many of the table's data columns (not 序号/编码) the row fills."""
    data_columns = {col for key, col in header.columns.items() if key not in (SEQ, CODE)}
    return len(data_columns & cells.keys())


def _is_note_row(cells: dict[int, Any], header: Header) -> bool:
    """A row below the header that is not data: numbering only, a footnote (说明：…)."""
    if not _data_cells(cells, header):
        return True  # only 序号/编码 or columns outside the table: numbering, footnotes
    if len(cells) == 1:
        (value,) = cells.values()
        return isinstance(value, str) and bool(_NOTE_ROW.match(value.strip()))
    return False


_CODE_SHAPE = re.compile(r"^[A-Z](\d{2}){0,3}$")


def _is_data_shaped(cells: dict[int, Any], header: Header) -> bool:
    """A row that looks like a data row: it fills at least two data columns, or one
    with a catalog code in 编码 (an export's category-only row). A note line fills
    one cell (the first, or a merged range, which reads as its first cell)."""
    if _is_note_row(cells, header):
        return False
    filled = _data_cells(cells, header)
    if filled >= 2:
        return True
    code = cells.get(header.columns[CODE]) if CODE in header.columns else None
    return filled == 1 and bool(_CODE_SHAPE.match(cellvalues.code_hint(code)))


def _row_text(cells: dict[int, Any]) -> str:
    return " ".join(cellvalues.text(v) for _, v in sorted(cells.items()) if cellvalues.text(v))


def row_ranges(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive row numbers grouped: [24, 25, 27] -> [(24, 25), (27, 27)]."""
    ranges: list[tuple[int, int]] = []
    for number in sorted(numbers):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ranges


@dataclass
class Table:
    sheet: str  # the worksheet's name
    title: str | None  # the title row above the header, if any
    header: Header
    rows: list[Row]  # the data rows
    notes: str = ""  # the notes block after the last data row, one line per row
    skipped: list[int] = field(default_factory=list)  # row numbers below the header that are not data


def locate(wb, *, max_rows: int) -> Table:
    """The first worksheet with a header, its title and data rows; ImportFailed
    when there is none, no data or too many rows."""
    header = None
    table_rows: list[Row] = []
    ws = None
    any_content = False
    for candidate in wb.worksheets:
        rows = sheet_rows(candidate)
        any_content = any_content or bool(rows)
        header = find_header(rows)
        if header is not None:
            ws, table_rows = candidate, rows
            break
    if not any_content:
        raise ImportFailed([Problem(None, None, _l("工作表是空的，没有任何内容。"))])
    if header is None:
        raise ImportFailed(
            [Problem(None, None, _l(
                "未找到表头：前 %(n)d 行中没有同时包含「一级目录」「二级目录」「三级目录（具体服务事项）」"
                "「承接主体类型」的一行。",
                n=HEADER_SEARCH_ROWS,
            ))]
        )

    title = None
    for number, cells in table_rows:
        if number >= header.row:
            break
        texts = [cellvalues.name(v) for _, v in sorted(cells.items()) if cellvalues.name(v)]
        if texts and title is None:
            title = texts[0]

    below = [(number, cells) for number, cells in table_rows if number > header.row]
    # Everything after the last data-shaped row is the notes block (注：…, 2. …,
    # plain sentences in the first cell or merged across the row).
    last_data = max((i for i, (_n, cells) in enumerate(below) if _is_data_shaped(cells, header)), default=-1)
    tail = below[last_data + 1:]
    data_rows = [(n, cells) for n, cells in below[: last_data + 1] if not _is_note_row(cells, header)]
    skipped = [n for n, cells in below[: last_data + 1] if _is_note_row(cells, header)] + [n for n, _c in tail]
    lines: list[str] = []
    for _number, cells in tail:
        line = _row_text(cells)
        if line and (not lines or lines[-1] != line):  # a merged block repeats its text on each row
            lines.append(line)
    if len(data_rows) > max_rows:
        raise ImportFailed(
            [Problem(None, None, _l(
                "数据行太多：文件有 %(n)d 行数据，一次最多导入 %(max)d 行。", n=len(data_rows), max=max_rows
            ))]
        )
    if not data_rows:
        raise ImportFailed([Problem(None, None, _l("表头下面没有任何数据行。"))])
    return Table(sheet=ws.title, title=title, header=header, rows=data_rows, notes="\n".join(lines),
                 skipped=skipped)
