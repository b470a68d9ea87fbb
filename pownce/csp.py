"""A Content-Security-Policy on every HTML page (Django 5.2 has no ``SECURE_CSP``; it came in 6.0).

The policy allows scripts, styles, images and fonts from this site's own files only — no
inline ``<script>``, no ``style=`` attributes, nothing from another site — and no framing at
all (``frame-ancestors 'none'``, with ``X-Frame-Options: DENY`` for old browsers). Our templates
load their script and stylesheets from ``static/``; Django's admin does the same. If a crafted
note ever slipped markup past the escaping, the browser would still refuse to run it.

A response that already carries a policy keeps it: note files are served with a stricter one
(``default-src 'none'; sandbox``, notes/files.py). Non-HTML responses (JSON, files, metrics)
get none.
"""

from __future__ import annotations

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Profile photos, thumbnails and icons are ours; data: for small images in stylesheets.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = POLICY
        return response
