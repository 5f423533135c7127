"""HTTP security headers on every response, and the rate-limit error page.

The Content-Security-Policy allows no inline script and no inline style: every
script and stylesheet is a file served by the site itself (Bootstrap is served
locally by bootstrap-flask). Templates therefore never use ``<script>`` bodies,
``style=""`` attributes or ``on*=`` handlers.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response
from flask_limiter.errors import RateLimitExceeded
from werkzeug.urls import iri_to_uri

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

# Browsers only honour HSTS over https; sent when the site's BASE_URL is https.
HSTS = "max-age=31536000; includeSubDomains"


# Files of the site itself: the same for everyone, cacheable.
PUBLIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def _signed_in() -> bool:
    """The response was made for a signed-in user (email confirmed or not)."""
    from flask import g, request
    from flask_login import current_user

    if request.endpoint in PUBLIC_ENDPOINTS or g.get("plainly_anonymous"):
        return False  # a public file, or a cached page served to a visitor (procure.caching)
    if g.get("signed_in"):  # set by the user loader (accounts.gate): no reload after a commit
        return True
    try:
        return bool(current_user.is_authenticated) or g.get("pending_user") is not None
    except Exception:  # the user could not be loaded (e.g. the database is down)
        return True


def add_security_headers(response: Response) -> Response:
    from flask import current_app

    present = {name.lower() for name, _value in response.headers}  # one pass, not one per header
    response.headers.extend([(name, value) for name, value in HEADERS.items() if name.lower() not in present])
    if _signed_in():
        # A private page (anything behind login) is never stored by the
        # browser or a proxy: not on a shared computer's disk, not in history.
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    if current_app.config.get("BASE_URL", "").startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


# What browsers and Python's urlsplit (used by Werkzeug on the Location
# header) silently remove from a URL before they read it.
_STRIPPED_BY_CLIENTS = re.compile(r"[\t\r\n]")


def safe_next(target: str | None) -> str | None:
    """``target`` (a ``next`` parameter, a form field) as a redirect target on
    this site, or None. The one check for every place that honours ``next``.

    The URL that will really be sent is what is validated: first normalised
    the way Werkzeug and browsers will (tab, CR and LF removed, backslashes
    read as slashes), then encoded as the Location header will be; it must be
    a path on this site (no scheme, no host, no ``//`` that a browser would
    take for a host)."""
    if not target or not isinstance(target, str):
        return None
    cleaned = _STRIPPED_BY_CLIENTS.sub("", target).replace("\\", "/")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned):
        return None
    try:
        sent = iri_to_uri(cleaned)
    except ValueError:
        return None
    for candidate in (cleaned, sent):
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc or not candidate.startswith("/") or candidate.startswith("//"):
            return None
    return sent


def rate_limited(error: RateLimitExceeded):
    """A view may render its own answer to a breached limit (``on_breach``);
    otherwise the generic 429 page."""
    from procure.web import render_error

    if error.response is not None:
        return error.response
    return render_error(429, error)


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # The client address (per-IP rate limits) and scheme as the proxies saw them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.after_request(add_security_headers)
    app.register_error_handler(RateLimitExceeded, rate_limited)
