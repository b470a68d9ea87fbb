"""Note cards: the part every reader sees alike is rendered once per process and reused.

Rendering a stream's twenty cards with the template engine is most of a warm page's cost. A
card's top — author, audience, content — depends only on the note, the people it names,
whether the reader wrote it (a set's name is shown to its author only) or is its one recipient
("Private to you"), how long ago it was sent, in words ("5 minutes ago"), whether the stream
marks public notes (the public stream, where every note is public, does not), and the reader's
time zone (times are shown in it). Its HTML is kept in a per-process LRU keyed by all of those
values themselves, so an edit, a rename, another zone or the passing minute make a new key: an
entry can never be stale, only unused, and nothing is shared between processes. The footer
(reply and star counts, the reader's own star, the menu of what else the reader may do with the
note, the CSRF token, where to come back to) is built for every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from urllib.parse import quote

from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from notes import visibility
from notes.models import Note
from notes.templatetags.notes_text import ago

CARD_TOP = "notes/_note_card_top.html"
REPLY_ITEM = "notes/_reply_item.html"
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
    # The photo's stored names, not its URL: the card shows photo_small_url, which they decide
    # (and which costs a reverse() to build).
    if user is None:
        return ()
    return (user.pk, user.username, user.name, user.photo.name, user.photo_small.name)


def _top_key(note: Note, viewer_is_author: bool, viewer_is_recipient: bool, public_badge: bool) -> tuple:
    friend_set = note.friend_set if viewer_is_author and note.friend_set_id else None
    return (
        note.pk, note.kind, note.audience, note.body, note.url, note.file.name, note.file_name,
        note.file_size, note.file_type, note.thumbnail.name, note.image_width, note.image_height,
        note.event_name, note.event_place,
        note.event_start, note.created, note.forwarded_from_id, _person(note.author), _person(note.recipient),
        _person(note.forwarded_from_author), friend_set.name if friend_set else None, viewer_is_author,
        viewer_is_recipient, public_badge, ago(note.created), timezone.get_current_timezone_name(),
    )  # fmt: skip


def _reused(key: tuple, render, reuse: bool) -> str:
    """``render()``'s HTML, from the LRU under ``key`` when ``reuse`` (the plain-ORM baseline of
    the benchmark, demo/baseline.py, renders everything every time, as an ordinary Django page would)."""
    if not reuse:
        return render()
    html = _tops.get(key)
    if html is None:
        html = render()
        _tops.put(key, html)
    return html


def card_top(
    note: Note,
    *,
    viewer_is_author: bool,
    viewer_is_recipient: bool = False,
    public_badge: bool = True,
    reuse: bool = True,
) -> str:
    """The top of ``note``'s card: the same for every reader but for what the author is shown (a
    set's name) and what the one recipient of a private note is shown ("Private to you"). A
    public note is marked "Public" unless ``public_badge`` is off (a stream of public notes only)."""
    context = {
        "note": note,
        "viewer_is_author": viewer_is_author,
        "viewer_is_recipient": viewer_is_recipient,
        "public_badge": public_badge,
    }
    key = _top_key(note, viewer_is_author, viewer_is_recipient, public_badge)
    return _reused(key, lambda: get_template(CARD_TOP).render(context), reuse)


# A stand-in id: the path of a note-specific URL is reversed once per process with it, then
# filled in with each note's id (a stream needs three such URLs per card).
_SENTINEL = 987654321987


@lru_cache(maxsize=16)
def _path_pattern(name: str) -> str:
    return reverse(name, args=[_SENTINEL])


def _path(name: str, pk: int) -> str:
    return _path_pattern(name).replace(str(_SENTINEL), str(int(pk)))


def card_footer(note: Note, counts, *, viewer, csrf_token: str, back_to: str) -> SafeString:
    replies = counts.replies if counts else 0
    stars = int(counts.stars) if counts else 0
    starred = bool(counts and counts.starred)
    label = f"{int(replies)} repl{'y' if replies == 1 else 'ies'}" if replies else "Reply"
    html = f'<footer class="note-actions"><a href="{_path("note_detail", note.pk)}#replies">{label}</a>'
    # The page's blocks came with the counts (one cached list): no query per card.
    if visibility.may_star(viewer, note, blocks=counts.blocks if counts else frozenset()):
        action = _path("star_remove" if starred else "star_add", note.pk)
        html += (
            f'<form method="post" action="{action}" class="star-form">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
            f'<input type="hidden" name="next" value="{escape(back_to)}#note-{int(note.pk)}">'
            f'<button type="submit" class="star{" starred" if starred else ""}" aria-pressed="{str(starred).lower()}"'
            f' title="{"Remove your star" if starred else "Star this note"}">★ <span>{stars}</span></button></form>'
        )
    elif stars:
        html += f'<span class="star">★ <span>{stars}</span></span>'
    return mark_safe(html + _menu(note, counts, viewer=viewer, back_to=back_to) + "</footer>")


# Said by the delete link's dialog (static/js/notes.js) and by the page it leads to without it.
DELETE_NOTE_DETAIL = "It is deleted for everyone who can see it, with its replies and stars. This cannot be undone."
DELETE_REPLY_DETAIL = "It is deleted for everyone who can see it. This cannot be undone."


def delete_link(action: str, *, what: str, back_to: str, css: str = "") -> str:
    """A "Delete" link: to the confirmation page without JavaScript, a dialog with it."""
    detail = DELETE_NOTE_DETAIL if what == "note" else DELETE_REPLY_DETAIL
    href = f"{action}?next={quote(back_to, safe='/')}" if back_to else action
    attrs = f' class="{escape(css)}"' if css else ""
    return (
        f'<a{attrs} href="{escape(href)}" data-confirm="Delete this {escape(what)}?"'
        f' data-confirm-detail="{escape(detail)}">Delete…</a>'
    )


def _menu(note: Note, counts, *, viewer, back_to: str) -> str:
    """The card's small menu (a <details>, so it opens without JavaScript): forward and report,
    which lead to their forms on the note's page, and delete for the author."""
    page = _path("note_detail", note.pk)
    items = []
    if visibility.may_forward(viewer, note, blocks=counts.blocks if counts else frozenset()):
        items.append(f'<li><a href="{page}#forward">Forward…</a></li>')
    if visibility.may_report(viewer, note):
        items.append(f'<li><a href="{page}#report">Report…</a></li>')
    if visibility.signed_in(viewer) and note.author_id == viewer.pk:
        items.append(f"<li>{delete_link(_path('note_delete', note.pk), what='note', back_to=back_to)}</li>")
    if not items:
        return ""
    return (
        '<details class="note-menu"><summary title="More" aria-label="More actions for this note">'
        f'<span aria-hidden="true">⋯</span></summary><ul>{"".join(items)}</ul></details>'
    )


def reply_item(reply, *, viewer, reuse: bool = True) -> SafeString:
    """A reply in a stream: the same for every reader but for "your note" to the note's author."""
    viewer_wrote_note = viewer is not None and viewer.is_authenticated and reply.note_author_id == viewer.pk
    note = reply._state.fields_cache.get("note")
    key = (
        "reply", reply.pk, reply.body, reply.created, reply.note_id, _person(reply.author),
        _person(reply.note_author), note.title if note is not None else None, viewer_wrote_note, ago(reply.created),
        timezone.get_current_timezone_name(),
    )  # fmt: skip
    context = {"reply": reply, "viewer_wrote_note": viewer_wrote_note}
    return mark_safe(_reused(key, lambda: get_template(REPLY_ITEM).render(context), reuse))


def note_card(
    note: Note, counts, *, viewer, csrf_token: str, back_to: str, public_badge: bool = True, reuse: bool = True
) -> SafeString:
    """The whole card of ``note`` as ``viewer`` sees it."""
    signed_in = viewer is not None and viewer.is_authenticated
    top = card_top(
        note,
        viewer_is_author=signed_in and note.author_id == viewer.pk,
        viewer_is_recipient=signed_in and note.recipient_id is not None and note.recipient_id == viewer.pk,
        public_badge=public_badge,
        reuse=reuse,
    )
    footer = card_footer(note, counts, viewer=viewer, csrf_token=csrf_token, back_to=back_to)
    return mark_safe(f"{top}{footer}\n  </div>\n</article>\n")


_composers = _LRU(CACHED_CARDS // 4)


def _frozen(choices) -> tuple:
    return tuple((value, _frozen(label) if isinstance(label, list | tuple) else label) for value, label in choices)


def composer_fields(form, *, reuse: bool = True) -> str:
    """The inside of the note form. An unbound form's HTML depends only on its choices and
    initial values (the CSRF token stays outside), so it is reused like a card's top."""
    if form.is_bound or not reuse:
        return get_template(COMPOSER_FIELDS).render({"form": form})
    # Not the idempotency key: it is fresh for every showing and rendered outside these fields.
    initial = tuple(sorted((name, value) for name, value in form.initial.items() if name != "idempotency_key"))
    key = (
        _frozen(form.fields["audience"].choices),
        initial,
        form.max_upload_bytes,
        form.fields["event_start"].label,  # names the author's time zone
    )
    html = _composers.get(key)
    if html is None:
        html = get_template(COMPOSER_FIELDS).render({"form": form})
        _composers.put(key, html)
    return html
