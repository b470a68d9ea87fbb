"""``{% note_card note counts %}`` and ``{% composer_fields form %}``: HTML reused across requests
where it does not depend on the reader (notes/cards.py)."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from notes import cards

register = template.Library()


@register.simple_tag(takes_context=True)
def note_card(context, note, counts):
    request = context.get("request")
    return cards.note_card(
        note,
        counts,
        viewer=context.get("user"),
        csrf_token=str(context.get("csrf_token", "")),
        back_to=request.get_full_path() if request is not None else "",
        # A stream of public notes only (``only_public``) does not mark each one "Public".
        public_badge=not context.get("only_public", False),
        reuse=context.get("reuse_html", True),
    )


@register.simple_tag(takes_context=True)
def composer_fields(context, form):
    return mark_safe(cards.composer_fields(form, reuse=context.get("reuse_html", True)))


@register.simple_tag
def delete_link(action, what, back_to=""):
    """``{% delete_link url "reply" %}``: a "Delete" that asks first (notes/cards.py)."""
    return mark_safe(cards.delete_link(action, what=what, back_to=back_to, css="link-button"))


@register.simple_tag(takes_context=True)
def reply_item(context, reply):
    return cards.reply_item(reply, viewer=context.get("user"), reuse=context.get("reuse_html", True))
