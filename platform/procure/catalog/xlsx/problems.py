"""What an import reports: the problems of a refused file, or the counts of an accepted one."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from procure.errors import DomainError


@dataclass(frozen=True)
class Problem:
    """One problem of an import file. ``row`` is the spreadsheet row number (1-based)
    and ``column`` the header text as written in the file; both None for problems of
    the whole file. ``message`` is the bare message; ``str(problem)`` adds the place."""

    row: int | None
    column: str | None
    message: Any
    value: str = ""  # the offending cell's content, as written (shortened)

    def __str__(self) -> str:
        place = self._place()
        if self.value:
            return str(_l("%(problem)s（单元格内容：“%(value)s”）", problem=place, value=self.value))
        return place

    def _place(self) -> str:
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
    notes: str = ""  # the notes block under the table, kept as the catalog's notes
    skipped: list[int] = field(default_factory=list)  # rows below the header that are not data

    @property
    def skipped_ranges(self) -> list[tuple[int, int]]:
        from procure.catalog.xlsx.table import row_ranges

        return row_ranges(self.skipped)

    def skipped_messages(self) -> list[str]:
        """"第 24–25 行为表尾说明，已忽略", one per run of consecutive rows."""
        messages = []
        for first, last in self.skipped_ranges:
            if first == last:
                messages.append(str(_l("第 %(row)d 行为表尾说明，已忽略", row=first)))
            else:
                messages.append(str(_l("第 %(first)d–%(last)d 行为表尾说明，已忽略", first=first, last=last)))
        return messages


class Refused(Exception):
    """The whole file is refused for one problem (raised while reading it)."""

    def __init__(self, problem: Problem):
        self.problem = problem
