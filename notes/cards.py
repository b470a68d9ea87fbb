"""Note cards: the part every reader sees alike is rendered once per process and reused.

Rendering a stream's twenty cards with the template engine is most of a warm page's cost. A
card's top — author, audience, content — depends only on the note, the people it names,
whether the reader wrote it (a set's name is shown to its author only) and how long ago it
was sent, in words ("5 minutes ago"). Its HTML is kept in a per-process LRU keyed by all of
those values themselves, so an edit, a rename or the passing minute make a new key: an entry
can never be stale, only unused, and nothing is shared between processes. The footer (reply
and star counts, the reader's own star, the CSRF token, where to come back to) is built for
every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from notes.models import Note
from notes.templatetags.notes_text import ago

CARD_TOP = "notes/_note_card_top.html"
COMPOSER_FIELDS = "notes/_composer_fields.html"
CACHED_CARDS = 2000


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_tops = _LRU(CACHED_CARDS)


def _person(user) -> tuple:
    return (user.pk, user.username, user.name, user.photo_small_url) if user is not None else ()


def _top_key(note: Note, viewer_is_author: bool) -> tuple:
    friend_set = note.friend_set if viewer_is_author and note.friend_set_id else None
    return (
        note.pk, note.kind, note.audience, note.body, note.url, note.file.name, note.file_name,
        note.file_size, note.file_type, note.thumbnail.name, note.event_name, note.event_place,
        note.event_start, note.created, note.forwarded_from_id, _person(note.author), _person(note.recipient),
        _person(note.forwarded_from_author), friend_set.name if friend_set else None, viewer_is_author,
        ago(note.created),
    )  # fmt: skip


def card_top(note: Note, *, viewer_is_author: bool) -> str:
    key = _top_key(note, viewer_is_author)
    html = _tops.get(key)
    if html is None:
        html = get_template(CARD_TOP).render({"note": note, "viewer_is_author": viewer_is_author})
        _tops.put(key, html)
    return html


def card_footer(note: Note, counts, *, signed_in: bool, csrf_token: str, back_to: str) -> SafeString:
    detail = reverse("note_detail", args=[note.pk])
    replies = counts.replies if counts else 0
    stars = counts.stars if counts else 0
    starred = bool(counts and counts.starred)
    label = f"{replies} repl{'y' if replies == 1 else 'ies'}" if replies else "Reply"
    parts = [format_html('<footer class="note-actions"><a href="{}#replies">{}</a>', detail, label)]
    if signed_in:
        action = reverse("star_remove" if starred else "star_add", args=[note.pk])
        parts.append(
            format_html(
                '<form method="post" action="{}" class="star-form">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<input type="hidden" name="next" value="{}#note-{}">'
                '<button type="submit" class="star{}" aria-pressed="{}" title="{}">★ <span>{}</span></button></form>',
                action,
                csrf_token,
                back_to,
                note.pk,
                " starred" if starred else "",
                "true" if starred else "false",
                "Remove your star" if starred else "Star this note",
                stars,
            )
        )
    elif stars:
        parts.append(format_html('<span class="star">★ <span>{}</span></span>', stars))
    parts.append(mark_safe("</footer>"))
    return mark_safe("".join(parts))


def note_card(note: Note, counts, *, viewer, csrf_token: str, back_to: str) -> SafeString:
    """The whole card of ``note`` as ``viewer`` sees it."""
    signed_in = viewer is not None and viewer.is_authenticated
    top = card_top(note, viewer_is_author=signed_in and note.author_id == viewer.pk)
    footer = card_footer(note, counts, signed_in=signed_in, csrf_token=csrf_token, back_to=back_to)
    return mark_safe(f"{top}{footer}\n  </div>\n</article>\n")


_composers = _LRU(CACHED_CARDS // 4)


def _frozen(choices) -> tuple:
    return tuple((value, _frozen(label) if isinstance(label, list | tuple) else label) for value, label in choices)


def composer_fields(form) -> str:
    """The inside of the note form. An unbound form's HTML depends only on its choices and
    initial values (the CSRF token stays outside), so it is reused like a card's top."""
    if form.is_bound:
        return get_template(COMPOSER_FIELDS).render({"form": form})
    key = (_frozen(form.fields["audience"].choices), tuple(sorted(form.initial.items())), form.max_upload_bytes)
    html = _composers.get(key)
    if html is None:
        html = get_template(COMPOSER_FIELDS).render({"form": form})
        _composers.put(key, html)
    return html
