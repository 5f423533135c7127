"""Catalog pages: one blueprint, ``catalog``, in two modules.

- ``public_views``: published and superseded versions for everyone, no login;
- ``manage_views``: the county officer's drafts, edits, import/export, publishing.

Endpoint names (``catalog.county``, ``catalog.manage_catalog`` …) are those of
the blueprint, whichever module defines the view.
"""
from procure.catalog import manage_views, public_views  # noqa: F401 - they add their routes to bp
from procure.catalog.blueprint import bp

__all__ = ["bp"]
