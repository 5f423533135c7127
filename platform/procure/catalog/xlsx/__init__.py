"""XLSX import and export of a catalog, in the layout of county tables.

Import (:func:`import_catalog`) reads tables like the real county ones: a title row
above the header, the header found by its names in the first 20 rows, columns in any
order, vertically merged cells filled down, blank rows and note rows (说明：…) ignored.
Everything after the last data-shaped row (one filling two data columns or more) is
the notes block: its lines become the catalog's explanatory notes
(``Catalog.notes``) and the report lists the rows skipped as notes.

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
layout) a 备注 saying 群团组织优先承接 sets the flag and the 备注 text is kept as written
(it is what the county wrote). Reference budget: the column 参考预算（万元） is in units of 10,000 yuan, which is
what the export writes; 参考预算（元） is read in yuan; a budget column without unit is
taken as 万元. Item.reference_budget itself is stored in yuan.

Import is all or nothing: the whole file is validated before the database is touched,
and every problem is reported at once in :class:`ImportFailed`.

One module per step: ``workbook`` opens the upload (the one call into openpyxl)
and reads a sheet's rows; ``table`` locates the header, title and data rows;
``cells`` reads cell values; ``rows`` validates the rows into a tree;
``codes`` assigns the codes; ``store`` writes the tree; ``export`` writes a file.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from procure.catalog import services
from procure.catalog.models import Catalog
from procure.catalog.xlsx.codes import assign_codes
from procure.catalog.xlsx.export import TEMPLATE_FILENAME, export_catalog, export_filename, template_workbook
from procure.catalog.xlsx.problems import ImportFailed, ImportReport, Problem, Refused
from procure.catalog.xlsx.rows import Node, read_tree
from procure.catalog.xlsx.store import store
from procure.catalog.xlsx.table import locate
from procure.catalog.xlsx.workbook import open_workbook, read_bytes

__all__ = [
    "TEMPLATE_FILENAME", "ImportFailed", "ImportReport", "Problem", "export_catalog", "export_filename",
    "import_catalog", "parse_workbook", "template_workbook",
]

MAX_ROWS = 5000


def parse_workbook(source, *, max_rows: int = MAX_ROWS) -> tuple[ImportReport, list[Node]]:
    """Read and validate a file. Returns the report (without counts stored) and the
    category tree; raises ImportFailed with every problem found."""
    try:
        wb = open_workbook(read_bytes(source))
    except Refused as refused:
        raise ImportFailed([refused.problem]) from None
    table = locate(wb, max_rows=max_rows)
    roots, problems = read_tree(table)
    nodes = list(roots.values())
    problems += assign_codes(nodes, table.header)
    if problems:
        problems.sort(key=lambda p: (p.row or 0))
        raise ImportFailed(problems)
    report = ImportReport(sheet=table.sheet, title=table.title, rows=len(table.rows), categories=0, items=0,
                          notes=table.notes, skipped=table.skipped)
    return report, nodes


def import_catalog(session: Session, catalog: Catalog, fileobj_or_bytes, *, max_rows: int = MAX_ROWS) -> ImportReport:
    """Replace the contents of a draft catalog with an XLSX file, all or nothing."""
    services.require_draft(catalog)
    report, roots = parse_workbook(fileobj_or_bytes, max_rows=max_rows)
    services.clear_contents(session, catalog)
    store(session, catalog, roots, report)
    return report
