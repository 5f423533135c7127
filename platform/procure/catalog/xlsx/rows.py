"""Reading and validating the data rows into a tree of categories and items.

Every row is checked (names, undertaker types, budget, flag, duplicates, and
the item rules of ``services.validate_item_data``); the problems of all rows
are collected, not just the first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from procure.catalog import services
from procure.catalog.undertakers import parse_cell
from procure.catalog.xlsx import cells as cellvalues
from procure.catalog.xlsx.problems import Problem
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
    TYPES,
    Table,
)
from procure.errors import DomainError

NAME_MAX = 200
ITEM_CODE = re.compile(r"^[A-Z]\d{6}$")
CATEGORY_CODE = {1: re.compile(r"^[A-Z]$"), 2: re.compile(r"^[A-Z]\d{2}$"), 3: re.compile(r"^[A-Z]\d{4}$")}


@dataclass
class Item:
    row: int
    name: str
    data: services.ItemData
    code_hint: str | None  # the code from the file, then the code assigned


@dataclass
class Node:
    """A category read from the file, with its children or (level 3) items."""

    name: str
    level: int
    row: int
    code_hints: list[str] = field(default_factory=list)
    children: dict[str, Node] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    code: str = ""


def read_tree(table: Table) -> tuple[dict[str, Node], list[Problem]]:
    """The level-1 categories (by name) built from the table's rows, and the problems found."""
    header = table.header
    problems: list[Problem] = []
    col = header.columns
    names = header.names
    roots: dict[str, Node] = {}
    seen_items: dict[tuple[str, str, str, str], int] = {}
    item_field_keys = [k for k in (CONTENT, DEPT, TYPES, MASS_FIRST, BUDGET, NOTES) if k in col]

    def get(cells, key):
        return cells.get(col[key]) if key in col else None

    for number, cells in table.rows:
        row_problems: list[Problem] = []

        def problem(key, message):
            row_problems.append(Problem(number, names.get(key), message, cellvalues.shown(get(cells, key))))

        l1, l2 = cellvalues.name(get(cells, L1)), cellvalues.name(get(cells, L2))
        code_hint = cellvalues.code_hint(get(cells, CODE)) if CODE in col else ""
        has_item_fields = any(cellvalues.text(get(cells, k)) for k in item_field_keys)
        if header.export_layout:
            l3, item_name = cellvalues.name(get(cells, L3)), cellvalues.name(get(cells, ITEM))
        else:
            l3 = item_name = cellvalues.name(get(cells, header.name_key))

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
                    node = node_map[name] = Node(name, level, number)
                node_map = node.children
            if CATEGORY_CODE[depth].match(code_hint):
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

        types_text = cellvalues.text(get(cells, TYPES))
        types, type_notes, unknown = parse_cell(types_text)
        for fragment in unknown:
            problem(TYPES, _l("未知的承接主体类型“%(t)s”。", t=fragment))
        if not types and not unknown:
            problem(TYPES, _l("缺少承接主体类型。"))

        department = cellvalues.name(get(cells, DEPT))
        if len(department) > NAME_MAX:
            problem(DEPT, _l("购买主体超过 %(n)d 个字。", n=NAME_MAX))

        budget = None
        if BUDGET in col:
            budget = cellvalues.parse_budget(get(cells, BUDGET), header.budget_multiplier)
            if budget is not None and not isinstance(budget, Decimal):
                problem(BUDGET, budget)
                budget = None

        notes = cellvalues.text(get(cells, NOTES))
        if MASS_FIRST in col:
            flag = cellvalues.parse_flag(get(cells, MASS_FIRST))
            if flag is None:
                problem(MASS_FIRST, _l("应填写“是”或“否”，而不是“%(v)s”。", v=cellvalues.text(get(cells, MASS_FIRST))))
                flag = False
        else:
            flag, notes = cellvalues.split_mass_first(notes)

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
            service_content=cellvalues.text(get(cells, CONTENT)),
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

        n1 = roots.get(l1) or roots.setdefault(l1, Node(l1, 1, number))
        n2 = n1.children.get(l2) or n1.children.setdefault(l2, Node(l2, 2, number))
        n3 = n2.children.get(l3) or n2.children.setdefault(l3, Node(l3, 3, number))
        hint = code_hint if ITEM_CODE.match(code_hint) else None
        # An item code (A010101) or, as some county tables have, a level-3 code (A0101).
        category_hint = hint[:5] if hint else (code_hint if CATEGORY_CODE[3].match(code_hint) else None)
        if category_hint:
            n1.code_hints.append(category_hint[:1])
            n2.code_hints.append(category_hint[:3])
            n3.code_hints.append(category_hint[:5])
        n3.items[item_name] = Item(number, item_name, data, hint)

    return roots, problems
