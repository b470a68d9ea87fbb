"""Atom feeds (Django's syndication framework): a person's public notes at
``/<username>/feed/`` and the public stream at ``/public/feed/``.

Both read the pages' own streams (notes/streams.py) as a signed-out reader, so a feed holds
exactly what a stranger sees on the page — public notes, moderation applied — from the same
cached lists. :func:`note_text` is how a note reads as plain text off the site's pages (here and
in the client API): events and links spelled out.
"""

from __future__ import annotations

from datetime import UTC

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, linebreaks, urlize

from accounts.models import User
from accounts.selectors import user_by_username
from notes.models import Note
from notes.streams import profile_stream, public_stream


def event_text(note: Note) -> str:
    # Feeds and the API are read by programs, not a person with a zone: always UTC.
    when = note.event_start.astimezone(UTC).strftime("%A %-d %B %Y, %H:%M UTC") if note.event_start else ""
    return "\n".join(line for line in (note.event_name, when, note.event_place) if line)


def note_text(note: Note) -> str:
    """The note as plain text: an event's name, time and place, a link's address, a file's name,
    each before the note's own text."""
    if note.kind == Note.Kind.EVENT:
        head = event_text(note)
    elif note.kind == Note.Kind.LINK:
        head = note.url
    elif note.kind == Note.Kind.FILE:
        head = note.file_name
    else:
        head = ""
    return "\n\n".join(part for part in (head, note.body) if part)


def note_html(text: str) -> str:
    """Plain text as safe HTML: escaped, in paragraphs, with its web addresses linked."""
    return linebreaks(urlize(escape(text), nofollow=True, autoescape=False)) if text else ""


class _NotesFeed(Feed):
    feed_type = Atom1Feed

    def item_title(self, note: Note) -> str:
        return note.title or f"Note {note.pk}"

    def item_description(self, note: Note) -> str:
        return note_html(note_text(note))

    def item_link(self, note: Note) -> str:
        return reverse("note_detail", args=[note.pk])

    def item_guid(self, note: Note) -> str:
        return reverse("note_detail", args=[note.pk])

    def item_pubdate(self, note: Note):
        return note.created

    def item_author_name(self, note: Note) -> str:
        author = note._state.fields_cache.get("author")
        return author.name if author is not None else ""


class PublicFeed(_NotesFeed):
    title = "Pownce: the public stream"
    subtitle = "The newest public notes on Pownce."

    def link(self) -> str:
        return reverse("public")

    def items(self) -> list[Note]:
        return public_stream(AnonymousUser()).items


class PersonFeed(_NotesFeed):
    def get_object(self, request, username: str) -> User:
        person = user_by_username(username)
        if person is None:
            raise Http404("No such person")
        return person

    def title(self, person: User) -> str:
        return f"{person.name} on Pownce"

    def subtitle(self, person: User) -> str:
        return f"Public notes by {person.username}."

    def link(self, person: User) -> str:
        return person.get_absolute_url()

    def items(self, person: User) -> list[Note]:
        return profile_stream(AnonymousUser(), person).items
