"""HTTP security headers on every response, and the rate-limit error page.

The Content-Security-Policy allows no inline script and no inline style: every
script and stylesheet is a file served by the site itself (Bootstrap is served
locally by bootstrap-flask). Templates therefore never use ``<script>`` bodies,
``style=""`` attributes or ``on*=`` handlers.
"""
from __future__ import annotations

from flask import Flask, Response
from flask_limiter.errors import RateLimitExceeded

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


def add_security_headers(response: Response) -> Response:
    from flask import current_app

    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("BASE_URL", "").startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


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
