"""Cell values as the catalog needs them: text, names, budgets, yes/no flags, code hints."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from procure.catalog import services

MASS_FIRST_PHRASE = "群团组织优先承接"
BUDGET_MAX = services.BUDGET_MAX  # yuan
SPACE = re.compile(r"\s+")


def text(value: Any) -> str:
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


def name(value: Any) -> str:
    return " ".join(text(value).split())


_BLANK_BUDGET = {"", "-", "—", "——", "/", "无", "／"}
_TRUE = {"是", "√", "✓", "✔", "y", "yes", "true", "1", "优先", "是(群团组织优先承接)"}
_FALSE = {"否", "", "×", "n", "no", "false", "0", "不", "-", "/"}


def parse_budget(value: Any, multiplier: Decimal):
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
        written = unicodedata.normalize("NFKC", str(value)).strip()
        if written in _BLANK_BUDGET:
            return None
        written = SPACE.sub("", written).replace(",", "")
        try:
            amount = Decimal(written)
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


def parse_flag(value: Any):
    """True / False for a yes/no cell, None when it is neither."""
    if isinstance(value, bool):
        return value
    word = SPACE.sub("", unicodedata.normalize("NFKC", text(value))).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def split_mass_first(notes: str) -> tuple[bool, str]:
    """(flag, notes) for a county-layout 备注 cell: the flag is set when the cell
    says 群团组织优先承接, and the text is kept as the county wrote it."""
    return MASS_FIRST_PHRASE in notes, notes


VALUE_SHOWN_MAX = 60


def shown(value: Any) -> str:
    """A cell's content as shown next to a problem: one line, at most VALUE_SHOWN_MAX characters."""
    written = " ".join(text(value).split())
    return written if len(written) <= VALUE_SHOWN_MAX else written[: VALUE_SHOWN_MAX - 1] + "…"


def code_hint(value: Any) -> str:
    """A 编码 cell, normalised (the codes themselves are checked in ``codes``)."""
    return SPACE.sub("", unicodedata.normalize("NFKC", text(value))).upper()
