"""Loading and updating administrative divisions."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from procure.errors import DomainError
from procure.geo.models import LEVEL_ORDER, Division, DivisionLevel

REQUIRED_COLUMNS = {"level", "code", "name", "parent_code"}


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def import_divisions(session: Session, text: str) -> ImportResult:
    """Load divisions from CSV text (columns level, code, name, parent_code).

    Idempotent: re-running updates names and parents and adds new units; it never
    duplicates a code. Rows may come in any order; parents are resolved by code.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or not REQUIRED_COLUMNS <= set(reader.fieldnames):
        raise DomainError(f"CSV must have the columns {', '.join(sorted(REQUIRED_COLUMNS))}")
    rows = []
    for lineno, row in enumerate(reader, start=2):
        code = (row["code"] or "").strip()
        name = (row["name"] or "").strip()
        try:
            level = DivisionLevel((row["level"] or "").strip())
        except ValueError:
            raise DomainError(f"line {lineno}: unknown level {row['level']!r}") from None
        if not code.isdigit() or not name:
            raise DomainError(f"line {lineno}: a division needs a numeric code and a name")
        rows.append((level, code, name, (row["parent_code"] or "").strip() or None))

    existing = {d.code: d for d in session.scalars(select(Division))}
    result = ImportResult()
    # Parents first, so a parent code always resolves.
    rows.sort(key=lambda r: LEVEL_ORDER.index(r[0]))
    for level, code, name, parent_code in rows:
        parent = None
        if parent_code:
            parent = existing.get(parent_code)
            if parent is None:
                raise DomainError(f"division {code}: unknown parent code {parent_code}")
        division = existing.get(code)
        if division is None:
            division = Division(code=code, name=name, level=level, parent=parent)
            session.add(division)
            existing[code] = division
            result.added += 1
        elif (division.name, division.level, division.parent) != (name, level, parent):
            division.name, division.level, division.parent = name, level, parent
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    return result
