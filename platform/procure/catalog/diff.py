"""What changed between two versions of a catalog.

Items are matched across versions by their place and name: (level-1 name, level-2
name, level-3 name, item name). An item whose category was renamed or moved thus shows
as removed and added. Field values in :class:`FieldChange` are formatted for display
(undertaker types as labels, the flag as 是/否, budgets in yuan).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from procure.catalog.models import Catalog, Category, Item
from procure.catalog.undertakers import describe

Key = tuple[str, ...]


@dataclass
class FieldChange:
    name: str  # Item attribute, e.g. "service_content"
    label: Any  # Chinese (lazy) label of the field
    old: str
    new: str


@dataclass
class ItemChange:
    old: Item
    new: Item
    fields: list[FieldChange]


@dataclass
class CatalogDiff:
    added: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    added_categories: list[Category] = field(default_factory=list)
    removed_categories: list[Category] = field(default_factory=list)
    unchanged: int = 0  # items present in both versions with no field changed

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.added_categories or self.removed_categories)


def format_budget(value: Decimal | None) -> str:
    """A reference budget (stored in yuan) for display: ``123,456.78 元``, ``—`` if none."""
    if value is None:
        return "—"
    return str(_l("%(amount)s 元", amount=f"{Decimal(value):,.2f}"))


def _flag(value: bool) -> str:
    return str(_l("是")) if value else str(_l("否"))


# (attribute, label, formatter of the item)
FIELDS = [
    ("code", _l("编码"), lambda i: i.code),
    ("service_content", _l("服务内容"), lambda i: i.service_content or ""),
    ("purchasing_department", _l("购买主体"), lambda i: i.purchasing_department or ""),
    ("undertaker_types", _l("承接主体类型"), lambda i: describe(i.undertaker_types or [], i.undertaker_notes or {})),
    ("mass_org_first", _l("群团组织优先承接"), lambda i: _flag(i.mass_org_first)),
    ("notes", _l("备注"), lambda i: i.notes or ""),
    ("reference_budget", _l("参考预算"), lambda i: format_budget(i.reference_budget)),
]


def _category_keys(catalog: Catalog) -> tuple[dict[int, Key], dict[Key, Category]]:
    by_id = {c.id: c for c in catalog.categories}
    keys: dict[int, Key] = {}

    def key_of(category: Category) -> Key:
        if category.id not in keys:
            parent = by_id.get(category.parent_id) if category.parent_id else None
            keys[category.id] = (key_of(parent) if parent is not None else ()) + (category.name,)
        return keys[category.id]

    return keys, {key_of(c): c for c in by_id.values()}


def _items_by_key(catalog: Catalog, category_keys: dict[int, Key]) -> dict[Key, Item]:
    return {category_keys[i.category_id] + (i.name,): i for i in catalog.items}


def compare(old: Catalog | None, new: Catalog) -> CatalogDiff:
    """Changes from ``old`` to ``new`` (everything is added when ``old`` is None)."""
    new_cat_keys, new_cats = _category_keys(new)
    new_items = _items_by_key(new, new_cat_keys)
    if old is None:
        old_cats: dict[Key, Category] = {}
        old_items: dict[Key, Item] = {}
    else:
        old_cat_keys, old_cats = _category_keys(old)
        old_items = _items_by_key(old, old_cat_keys)

    result = CatalogDiff()
    for key, item in new_items.items():
        previous = old_items.get(key)
        if previous is None:
            result.added.append(item)
            continue
        fields = []
        for name, label, fmt in FIELDS:
            before, after = fmt(previous), fmt(item)
            if before != after:
                fields.append(FieldChange(name, label, before, after))
        if fields:
            result.changed.append(ItemChange(previous, item, fields))
        else:
            result.unchanged += 1
    result.removed = [item for key, item in old_items.items() if key not in new_items]
    result.added_categories = [c for key, c in new_cats.items() if key not in old_cats]
    result.removed_categories = [c for key, c in old_cats.items() if key not in new_cats]

    result.added.sort(key=lambda i: i.code)
    result.removed.sort(key=lambda i: i.code)
    result.changed.sort(key=lambda c: c.new.code)
    result.added_categories.sort(key=lambda c: c.code)
    result.removed_categories.sort(key=lambda c: c.code)
    return result
