"""Security headers on every response: pages, static files, /healthz, the webhooks and error pages.

Everywhere: nosniff, no framing, no referrer beyond this site. HSTS when the hotline is served over
https (as the trusted proxy saw the request, or an https HOTLINE_PUBLIC_URL). A Content-Security-Policy
on every HTML page: scripts and styles only from our own /static, nothing inline, no other origin.
May import nothing of the hotline but its settings (app.config).
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
#: A year, the figure browsers' preload lists ask for; the hotline has no plain-http page to keep.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the security headers to every response of the app."""
    https_url = str(app.config["HOTLINE_PUBLIC_URL"]).startswith("https://")

    @app.after_request
    def _protect(response: Response) -> Response:
        headers = response.headers
        for name, value in EVERYWHERE.items():
            headers.setdefault(name, value)
        if https_url or request.is_secure:
            headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
