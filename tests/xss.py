"""The XSS corpus the page tests share: what people might type, and what it must never become
in a page. Used by tests/accounts/test_xss.py (profile fields) and tests/notes/test_xss.py
(every note field and replies)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Text typed into any field: script, attribute break-outs (quoted and not, with a space or a
# slash before the handler), links with script schemes, a closing tag, template syntax.
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "'><svg/onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    'http://example.com/"onmouseover="alert(1)',
    "http://x.com/<script>alert(1)</script>",
    "{{ request.user.password }}{% csrf_token %}",
    # Mentions become links too: a name followed by a break-out, a mention inside an address.
    "@ann\"><script>alert(1)</script> @ann'onmouseover=alert(1)",
    'http://x.com/@ann"onmouseover="alert(1)',
]
# Addresses with a scheme that is not the web's: a link field must refuse each of them.
SCRIPT_SCHEME_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]
# Addresses as they may already be stored (written before validation, or imported): a page must
# show each inert.
URL_PAYLOADS = [*SCRIPT_SCHEME_URLS, 'https://example.com/"><script>alert(1)</script>']

# What a payload must never turn into in a page, as markup (an escaped "&lt;script&gt;" is text).
DANGER = [
    re.compile(r"<script>alert", re.I),
    re.compile(r"<img[^>]*onerror", re.I),
    re.compile(r"<svg[^>]*onload", re.I),
    re.compile(r"""href\s*=\s*["']?\s*(javascript|data|vbscript):""", re.I),
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction"}
# Browsers drop tabs, newlines and leading blanks from a URL before reading its scheme.
SCHEME = re.compile(r"^(javascript|data|vbscript):", re.I)


class _Attributes(HTMLParser):
    """The attributes a browser would see: ``onerror=`` inside a quoted value is text, not one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            elif name in URL_ATTRIBUTES and SCHEME.match(re.sub(r"[\x00-\x20]", "", value or "")):
                self.found.append(f"<{tag} {name}={value!r}>")


def assert_inert(html: str) -> None:
    for pattern in DANGER:
        assert not pattern.search(html), f"{pattern.pattern} found in the page"
    parser = _Attributes()
    parser.feed(html)
    assert parser.found == [], "event handler or script link in the page"
