"""``{{ text|linkify }}`` for account pages (a bio): accounts/text.py."""

from __future__ import annotations

from django import template

from accounts import text

register = template.Library()
register.filter("linkify", text.linkify, is_safe=True)
