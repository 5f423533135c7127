"""Assigning codes: A / A01 / A0101 for categories, A010101 for items.

A code given in the file (编码) is kept when it is valid and fits the hierarchy;
everything else is numbered in order of appearance.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from procure.catalog import services
from procure.catalog.xlsx.problems import Problem
from procure.catalog.xlsx.rows import Node
from procure.catalog.xlsx.table import ITEM, L1, L2, L3, Header

LEVEL1_LETTERS = services.LEVEL1_LETTERS


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


def assign_codes(roots: list[Node], header: Header) -> list[Problem]:
    """Give every category and item its code (in place); the problems of levels
    with too many entries."""
    problems: list[Problem] = []
    col = header.columns
    names = header.names
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

    def walk(nodes: list[Node], parent_code: str, level: int) -> None:
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

    walk(roots, "", 1)
    return problems
