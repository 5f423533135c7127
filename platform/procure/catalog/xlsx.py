"""XLSX import and export of a catalog, in the layout of county tables.

Import (:func:`import_catalog`) reads tables like the real county ones: a title row
above the header, the header found by its names in the first 20 rows, columns in any
order, vertically merged cells filled down, blank rows and note rows (说明：…) ignored.

Two layouts are understood:

* **County layout** (no item-name column): the 三级目录（具体服务事项） cell names both
  the level-3 category and its single item.
* **Export layout** (an item-name column such as 服务事项 or 项目名称 is present): 三级目录
  is the level-3 category and the item-name column the item, so several items can share
  a level-3 category. A row with an empty item name and no item field at all declares
  categories only (that is how an export keeps empty categories).

Codes come from a 编码 column when it holds a valid code that fits the hierarchy
(A / A01 / A0101 / A010101), otherwise they are assigned in order of appearance.

Mass organizations first (群团组织优先承接): with a 群团组织优先承接 column (是/否, written
by the export) that column is the flag and 备注 is kept verbatim; without it (county
layout) a 备注 saying 群团组织优先承接 sets the flag and the phrase is taken out of the
notes. Reference budget: the column 参考预算（万元） is in units of 10,000 yuan, which is
what the export writes; 参考预算（元） is read in yuan; a budget column without unit is
taken as 万元. Item.reference_budget itself is stored in yuan.

Import is all or nothing: the whole file is validated before the database is touched,
and every problem is reported at once in :class:`ImportFailed`.
"""
from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from procure.catalog import services
from procure.catalog.models import Catalog, Category, Item
from procure.catalog.undertakers import format_cell, parse_cell
from procure.errors import DomainError
from procure.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 20
MAX_COLUMNS = 64
NAME_MAX = 200
MASS_FIRST_PHRASE = "群团组织优先承接"
BUDGET_MAX = services.BUDGET_MAX  # yuan
TEN_THOUSAND = Decimal(10000)
LEVEL1_LETTERS = services.LEVEL1_LETTERS


# --- problems ------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of an import file. ``row`` is the spreadsheet row number (1-based)
    and ``column`` the header text as written in the file; both None for problems of
    the whole file. ``message`` is the bare message; ``str(problem)`` adds the place."""

    row: int | None
    column: str | None
    message: Any

    def __str__(self) -> str:
        if self.row is not None and self.column:
            return str(_l("第%(row)d行「%(column)s」：%(message)s", row=self.row, column=self.column, message=self.message))
        if self.row is not None:
            return str(_l("第%(row)d行：%(message)s", row=self.row, message=self.message))
        if self.column:
            return str(_l("「%(column)s」列：%(message)s", column=self.column, message=self.message))
        return str(self.message)


class ImportFailed(DomainError):
    """The file was refused; nothing was changed. ``problems`` lists every problem."""

    def __init__(self, problems: list[Problem]):
        super().__init__(_l("导入失败：文件中有 %(n)d 个问题，目录未做任何修改。", n=len(problems)))
        self.problems = problems


@dataclass
class ImportReport:
    sheet: str
    title: str | None  # the title row above the header, if any
    rows: int  # data rows read
    categories: int
    items: int
    levels: tuple[int, int, int] = (0, 0, 0)  # categories of level 1, 2, 3


# --- header ----------------------------------------------------------------------

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
_SPACE = re.compile(r"\s+")


def _header_key(text: str) -> tuple[str | None, str]:
    """(key, unit in parentheses) of a header cell, or (None, "")."""
    norm = _SPACE.sub("", unicodedata.normalize("NFKC", text)).strip("*※:")
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


def _find_header(rows: list[tuple[int, dict[int, Any]]]) -> Header | None:
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


# --- reading the workbook --------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise TypeError("import_catalog needs bytes or a binary file object")


def _open_workbook(data: bytes):
    import openpyxl

    if not data:
        raise _Refused(Problem(None, None, _l("文件是空的。")))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Refused(Problem(None, None, _l("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入。")))
    if not data.startswith(b"PK\x03\x04"):
        raise _Refused(Problem(None, None, _l("文件不是有效的 XLSX 工作簿（Excel 2007 及以上格式）。")))
    try:
        return openpyxl.load_workbook(io.BytesIO(data), data_only=True, keep_links=False)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the file is unreadable
        log.info("unreadable XLSX upload: %r", exc)
        raise _Refused(Problem(None, None, _l("文件不是有效的 XLSX 工作簿（Excel 2007 及以上格式），无法读取。"))) from None


def _sheet_rows(ws) -> list[tuple[int, dict[int, Any]]]:
    """Non-empty rows as (row number, {0-based column: value}), merged cells filled
    down (each column of a merged range takes the value of the range's top cell).

    Reads the stored cells directly: ``iter_rows`` would create every cell of the
    sheet's dimension, which some files declare as a million rows."""
    cells: dict[int, dict[int, Any]] = {}
    for (row, col), cell in ws._cells.items():  # noqa: SLF001 - see docstring
        value = cell.value
        if col > MAX_COLUMNS or value is None:
            continue
        if isinstance(value, str):
            if not value.strip():
                continue
        cells.setdefault(row, {})[col - 1] = value
    for merged in ws.merged_cells.ranges:
        for col in range(merged.min_col, min(merged.max_col, MAX_COLUMNS) + 1):
            top = cells.get(merged.min_row, {}).get(col - 1)
            if top is None:
                continue
            for row in range(merged.min_row + 1, merged.max_row + 1):
                cells.setdefault(row, {})[col - 1] = top
    return sorted(cells.items())


# --- cell values -------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Cell value as text: numbers without a spurious .0, strings stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return str(value).strip()


def _name(value: Any) -> str:
    return " ".join(_text(value).split())


_NOTE_ROW = re.compile(r"^(说明|注|备注|附注|注释|填表说明|附件)\s*\d*\s*[:：]")
_BLANK_BUDGET = {"", "-", "—", "——", "/", "无", "／"}
_TRUE = {"是", "√", "✓", "✔", "y", "yes", "true", "1", "优先", "是(群团组织优先承接)"}
_FALSE = {"否", "", "×", "n", "no", "false", "0", "不", "-", "/"}


def _parse_budget(value: Any, multiplier: Decimal):
    """Yuan as Decimal, None for blank, or a problem message."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _l("参考预算必须是数字。")
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return _l("参考预算必须是数字。")
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if text in _BLANK_BUDGET:
            return None
        text = _SPACE.sub("", text).replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return _l("参考预算不是有效的金额：“%(v)s”。", v=str(value).strip())
        if not amount.is_finite():
            return _l("参考预算不是有效的金额：“%(v)s”。", v=str(value).strip())
    yuan = amount * multiplier
    if yuan < 0:
        return _l("参考预算不能为负数。")
    rounded = yuan.quantize(Decimal("0.01"))
    if abs(rounded - yuan) > Decimal("0.0001"):
        return _l("参考预算最多精确到分（0.01元）。")
    if rounded > BUDGET_MAX:
        return _l("参考预算过大。")
    return rounded


def _parse_flag(value: Any):
    if isinstance(value, bool):
        return value
    text = _SPACE.sub("", unicodedata.normalize("NFKC", _text(value))).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


_MASS_FIRST_IN_NOTES = re.compile(r"[；;，,、。.\s]*群团组织优先承接[；;，,、。.\s]*")


def _split_mass_first(notes: str) -> tuple[bool, str]:
    """(flag, notes without the phrase) for a county-layout 备注 cell."""
    if MASS_FIRST_PHRASE not in notes:
        return False, notes
    pieces = [p for p in _MASS_FIRST_IN_NOTES.split(notes) if p]
    return True, "；".join(pieces).strip()


# --- parsed structure and codes ------------------------------------------------------------


@dataclass
class _Item:
    row: int
    name: str
    data: services.ItemData
    code_hint: str | None


@dataclass
class _Node:
    name: str
    level: int
    row: int
    code_hints: list[str] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)
    items: dict[str, _Item] = field(default_factory=dict)
    code: str = ""


_ITEM_CODE = re.compile(r"^[A-Z]\d{6}$")
_CATEGORY_CODE = {1: re.compile(r"^[A-Z]$"), 2: re.compile(r"^[A-Z]\d{2}$"), 3: re.compile(r"^[A-Z]\d{4}$")}


def _code_hint(value: Any) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", _text(value))).upper()


def _suffixes(parent_code: str, level: int):
    if level == 1:
        yield from LEVEL1_LETTERS
    else:
        for i in range(1, 100):
            yield f"{parent_code}{i:02d}"


def _valid_child_code(code: str, parent_code: str, level: int) -> bool:
    """``level`` 1-3 for categories, 4 for items."""
    if not code.startswith(parent_code) or len(code) != len(parent_code) + (1 if level == 1 else 2):
        return False
    suffix = code[len(parent_code):]
    return suffix in LEVEL1_LETTERS if level == 1 else (suffix.isdigit() and suffix != "00")


def _assign(children: list, parent_code: str, level: int, hints_of, set_code, too_many) -> None:
    """Give each child a code: its first valid, unused hint, else the next free one."""
    used: set[str] = set()
    pending = []
    for child in children:
        for hint in hints_of(child):
            if hint and hint not in used and _valid_child_code(hint, parent_code, level):
                set_code(child, hint)
                used.add(hint)
                break
        else:
            pending.append(child)
    free = (code for code in _suffixes(parent_code, level) if code not in used)
    for child in pending:
        code = next(free, None)
        if code is None:
            too_many(child)
            continue
        set_code(child, code)
        used.add(code)


# --- import ------------------------------------------------------------------------------------


def _is_note_row(cells: dict[int, Any], header: Header) -> bool:
    data_columns = {col for key, col in header.columns.items() if key not in (SEQ, CODE)}
    if not data_columns & cells.keys():
        return True  # only 序号/编码 or columns outside the table: numbering, footnotes
    if len(cells) == 1:
        (value,) = cells.values()
        return isinstance(value, str) and bool(_NOTE_ROW.match(value.strip()))
    return False


def parse_workbook(source, *, max_rows: int = MAX_ROWS) -> tuple[ImportReport, list[_Node]]:
    """Read and validate a file. Returns the report (without counts stored) and the
    category tree; raises ImportFailed with every problem found."""
    try:
        wb = _open_workbook(_read_bytes(source))
    except _Refused as refused:
        raise ImportFailed([refused.problem]) from None

    header = None
    sheet_rows: list[tuple[int, dict[int, Any]]] = []
    ws = None
    any_content = False
    for candidate in wb.worksheets:
        rows = _sheet_rows(candidate)
        any_content = any_content or bool(rows)
        header = _find_header(rows)
        if header is not None:
            ws, sheet_rows = candidate, rows
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
    for number, cells in sheet_rows:
        if number >= header.row:
            break
        texts = [_name(v) for _, v in sorted(cells.items()) if _name(v)]
        if texts and title is None:
            title = texts[0]

    data_rows = [
        (number, cells)
        for number, cells in sheet_rows
        if number > header.row and not _is_note_row(cells, header)
    ]
    if len(data_rows) > max_rows:
        raise ImportFailed(
            [Problem(None, None, _l(
                "数据行太多：文件有 %(n)d 行数据，一次最多导入 %(max)d 行。", n=len(data_rows), max=max_rows
            ))]
        )
    if not data_rows:
        raise ImportFailed([Problem(None, None, _l("表头下面没有任何数据行。"))])

    problems: list[Problem] = []
    col = header.columns
    names = header.names
    roots: dict[str, _Node] = {}
    seen_items: dict[tuple[str, str, str, str], int] = {}
    item_field_keys = [k for k in (CONTENT, DEPT, TYPES, MASS_FIRST, BUDGET, NOTES) if k in col]

    def get(cells, key):
        return cells.get(col[key]) if key in col else None

    for number, cells in data_rows:
        row_problems: list[Problem] = []

        def problem(key, message):
            row_problems.append(Problem(number, names.get(key), message))

        l1, l2 = _name(get(cells, L1)), _name(get(cells, L2))
        code_hint = _code_hint(get(cells, CODE)) if CODE in col else ""
        has_item_fields = any(_text(get(cells, k)) for k in item_field_keys)
        if header.export_layout:
            l3, item_name = _name(get(cells, L3)), _name(get(cells, ITEM))
        else:
            l3 = item_name = _name(get(cells, header.name_key))

        if header.export_layout and not item_name and not has_item_fields:
            # A category-only row: declares categories down to the deepest level given.
            levels = [n for n in (l1, l2, l3)]
            depth = 3 if l3 else 2 if l2 else 1 if l1 else 0
            if depth == 0:
                continue
            missing = [i for i in range(depth) if not levels[i]]
            for i in missing:
                problem((L1, L2)[i], _l("缺少一级目录。") if i == 0 else _l("缺少二级目录。"))
            for key, value in ((L1, l1), (L2, l2), (L3, l3)):
                if len(value) > NAME_MAX:
                    problem(key, _l("名称超过 %(n)d 个字。", n=NAME_MAX))
            if row_problems:
                problems.extend(row_problems)
                continue
            node_map = roots
            node = None
            for level, name in enumerate(levels[:depth], start=1):
                node = node_map.get(name)
                if node is None:
                    node = node_map[name] = _Node(name, level, number)
                node_map = node.children
            if _CATEGORY_CODE[depth].match(code_hint):
                # Hints for the category and its ancestors: A0102 → A, A01, A0102.
                walk = roots
                for level, name in enumerate(levels[:depth], start=1):
                    target = walk[name]
                    target.code_hints.append(code_hint[: (1, 3, 5)[level - 1]])
                    walk = target.children
            continue

        if not l1:
            problem(L1, _l("缺少一级目录（合并单元格会自动向下填充，未合并的空白单元格不会）。"))
        if not l2:
            problem(L2, _l("缺少二级目录（合并单元格会自动向下填充，未合并的空白单元格不会）。"))
        if header.export_layout and not l3:
            problem(L3, _l("缺少三级目录。"))
        if not item_name:
            problem(ITEM if header.export_layout else header.name_key, _l("缺少服务事项名称。"))
        for key, value in ((L1, l1), (L2, l2), (L3, l3), (ITEM, item_name)):
            if key in col and len(value) > NAME_MAX:
                problem(key, _l("名称超过 %(n)d 个字。", n=NAME_MAX))

        types_text = _text(get(cells, TYPES))
        types, type_notes, unknown = parse_cell(types_text)
        for fragment in unknown:
            problem(TYPES, _l("未知的承接主体类型“%(t)s”。", t=fragment))
        if not types and not unknown:
            problem(TYPES, _l("缺少承接主体类型。"))

        department = _name(get(cells, DEPT))
        if len(department) > NAME_MAX:
            problem(DEPT, _l("购买主体超过 %(n)d 个字。", n=NAME_MAX))

        budget = None
        if BUDGET in col:
            budget = _parse_budget(get(cells, BUDGET), header.budget_multiplier)
            if budget is not None and not isinstance(budget, Decimal):
                problem(BUDGET, budget)
                budget = None

        notes = _text(get(cells, NOTES))
        if MASS_FIRST in col:
            flag = _parse_flag(get(cells, MASS_FIRST))
            if flag is None:
                problem(MASS_FIRST, _l("应填写“是”或“否”，而不是“%(v)s”。", v=_text(get(cells, MASS_FIRST))))
                flag = False
        else:
            flag, notes = _split_mass_first(notes)

        if not row_problems:
            key = (l1, l2, l3, item_name)
            if key in seen_items:
                problem(
                    ITEM if header.export_layout else header.name_key,
                    _l("与第%(row)d行重复：同一三级目录下已有服务事项“%(name)s”。", row=seen_items[key], name=item_name),
                )
            else:
                seen_items[key] = number

        if row_problems:
            problems.extend(row_problems)
            continue

        data = services.ItemData(
            name=item_name,
            service_content=_text(get(cells, CONTENT)),
            purchasing_department=department,
            undertaker_types=types,
            undertaker_notes=type_notes,
            mass_org_first=flag,
            notes=notes,
            reference_budget=budget,
        )
        try:
            data = services.validate_item_data(data)
        except DomainError as exc:  # a rule of the item form the checks above missed
            problems.append(Problem(number, None, exc.message))
            continue

        n1 = roots.get(l1) or roots.setdefault(l1, _Node(l1, 1, number))
        n2 = n1.children.get(l2) or n1.children.setdefault(l2, _Node(l2, 2, number))
        n3 = n2.children.get(l3) or n2.children.setdefault(l3, _Node(l3, 3, number))
        hint = code_hint if _ITEM_CODE.match(code_hint) else None
        # An item code (A010101) or, as some county tables have, a level-3 code (A0101).
        category_hint = hint[:5] if hint else (code_hint if _CATEGORY_CODE[3].match(code_hint) else None)
        if category_hint:
            n1.code_hints.append(category_hint[:1])
            n2.code_hints.append(category_hint[:3])
            n3.code_hints.append(category_hint[:5])
        n3.items[item_name] = _Item(number, item_name, data, hint)

    # Codes, in order of appearance unless the file gives valid ones.
    too_many_messages = {
        1: _l("一级目录超过 %(n)d 个。", n=len(LEVEL1_LETTERS)),
        2: _l("同一一级目录下的二级目录超过 99 个。"),
        3: _l("同一二级目录下的三级目录超过 99 个。"),
        4: _l("同一三级目录下的服务事项超过 99 个。"),
    }
    level_keys = {1: L1, 2: L2, 3: L3 if L3 in col else header.name_key, 4: ITEM if ITEM in col else header.name_key}

    def too_many(level):
        def report(obj):
            problems.append(Problem(obj.row, names.get(level_keys[level]), too_many_messages[level]))
        return report

    def node_code(node, code):
        node.code = code

    def walk(nodes: list[_Node], parent_code: str, level: int) -> None:
        _assign(nodes, parent_code, level, lambda n: n.code_hints, node_code, too_many(level))
        for node in nodes:
            if not node.code:
                continue
            if level < 3:
                walk(list(node.children.values()), node.code, level + 1)
            else:
                _assign(
                    list(node.items.values()), node.code, 4,
                    lambda i: [i.code_hint] if i.code_hint else [],
                    lambda i, code: setattr(i, "code_hint", code),
                    too_many(4),
                )

    walk(list(roots.values()), "", 1)

    if problems:
        problems.sort(key=lambda p: (p.row or 0))
        raise ImportFailed(problems)

    report = ImportReport(sheet=ws.title, title=title, rows=len(data_rows), categories=0, items=0)
    return report, list(roots.values())


def import_catalog(session: Session, catalog: Catalog, fileobj_or_bytes, *, max_rows: int = MAX_ROWS) -> ImportReport:
    """Replace the contents of a draft catalog with an XLSX file, all or nothing."""
    services.require_draft(catalog)
    report, roots = parse_workbook(fileobj_or_bytes, max_rows=max_rows)
    services.clear_contents(session, catalog)
    _store(session, catalog, roots, report)
    return report


def _store(session: Session, catalog: Catalog, roots: list[_Node], report: ImportReport) -> None:
    """Bulk inserts: one executemany per category level and one for the items. The new
    category ids are read back by code (unique within a catalog), which is faster than
    INSERT … RETURNING on both SQLite and psycopg."""
    levels: list[list[_Node]] = [roots, [], []]
    parent_code: dict[str, str | None] = {n.code: None for n in roots}
    for n1 in roots:
        for n2 in n1.children.values():
            levels[1].append(n2)
            parent_code[n2.code] = n1.code
            for n3 in n2.children.values():
                levels[2].append(n3)
                parent_code[n3.code] = n2.code
    ids: dict[str, int] = {}  # category code -> id
    for level, nodes in enumerate(levels, start=1):
        if not nodes:
            continue
        rows = [
            {
                "catalog_id": catalog.id,
                "parent_id": ids[parent_code[n.code]] if parent_code[n.code] is not None else None,
                "level": level,
                "code": n.code,
                "name": n.name,
            }
            for n in nodes
        ]
        session.execute(insert(Category), rows)
        ids.update(
            session.execute(
                select(Category.code, Category.id).where(Category.catalog_id == catalog.id, Category.level == level)
            ).all()
        )
    item_rows = [
        {
            "catalog_id": catalog.id,
            "category_id": ids[n3.code],
            "code": item.code_hint,
            **vars(item.data),
        }
        for n3 in levels[2]
        for item in n3.items.values()
    ]
    if item_rows:
        # render_nulls: rows with and without a budget go in one executemany batch
        # (measured faster than RETURNING's multi-row INSERTs on psycopg).
        session.execute(insert(Item).execution_options(render_nulls=True), item_rows)
    catalog.updated_at = utcnow()
    session.flush()
    session.expire(catalog, ["items", "categories"])
    report.levels = (len(levels[0]), len(levels[1]), len(levels[2]))
    report.categories = sum(report.levels)
    report.items = len(item_rows)


# --- export ----------------------------------------------------------------------------------

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
    note_row = 3 + len(rows) + 1
    ws.cell(
        row=note_row,
        column=1,
        value=f"说明：本表由政府购买服务平台导出（{catalog.county.name}{catalog.year}年，第{catalog.version}版）。"
        "参考预算单位为万元；“编码”“服务事项”“群团组织优先承接”列供重新导入使用。",
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _safe(text: str, illegal) -> str:
    return illegal.sub("", text or "")
