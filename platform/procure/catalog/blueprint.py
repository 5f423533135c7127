"""The ``catalog`` blueprint. Its routes live in ``public_views`` (browsing,
no login) and ``manage_views`` (the county officer's management); importing
``procure.catalog.views`` registers both."""
from flask import Blueprint

bp = Blueprint("catalog", __name__)
