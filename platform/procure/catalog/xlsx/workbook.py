"""Reading the uploaded file: bytes, the workbook, and each sheet's non-empty rows.

``open_workbook`` is the one place where uploaded bytes reach openpyxl.
"""
from __future__ import annotations

import io
import logging
from typing import Any

from flask_babel import lazy_gettext as _l

from procure.catalog.xlsx.problems import Problem, Refused

log = logging.getLogger(__name__)

MAX_COLUMNS = 64

Row = tuple[int, dict[int, Any]]  # (spreadsheet row number, {0-based column: value})


def read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise TypeError("import_catalog needs bytes or a binary file object")


def open_workbook(data: bytes):
    """The workbook of an uploaded file, or ``Refused`` with a message for the user."""
    import openpyxl

    from procure import archives

    if not data:
        raise Refused(Problem(None, None, _l("文件是空的。")))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise Refused(Problem(None, None, _l("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入。")))
    if not data.startswith(b"PK\x03\x04"):
        raise Refused(Problem(None, None, _l("文件不是有效的 XLSX 工作簿（Excel 2007 及以上格式）。")))
    archives.check(data, refuse=lambda message: Refused(Problem(None, None, message)))  # decompression bombs
    try:
        return openpyxl.load_workbook(io.BytesIO(data), data_only=True, keep_links=False)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the file is unreadable
        log.info("unreadable XLSX upload: %r", exc)
        raise Refused(Problem(None, None, _l("文件不是有效的 XLSX 工作簿（Excel 2007 及以上格式），无法读取。"))) from None


def sheet_rows(ws) -> list[Row]:
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

