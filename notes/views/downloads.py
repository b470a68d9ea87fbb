from __future__ import annotations

from django.http import Http404, HttpResponse
from django.urls import reverse

from notes import files, ical
from notes.models import Note
from notes.selectors import visible_note
from notes.views.notes import log_in_to_see


@log_in_to_see
def note_file(request, note_id: int, filename: str):
    """The note's file, for its audience only. The name in the URL is only for the browser."""
    note = visible_note(request.user, note_id)
    if note.kind != Note.Kind.FILE or not note.file:
        raise Http404("No file")
    return files.file_response(note)


def note_thumbnail(request, note_id: int):
    """The note's thumbnail; until the thumbnail task has made it, the (checked) image itself."""
    note = visible_note(request.user, note_id)
    if note.thumbnail:
        return files.thumbnail_response(note)
    if note.kind == Note.Kind.FILE and note.file and files.is_inline(note):
        return files.file_response(note)
    raise Http404("No thumbnail")


@log_in_to_see
def note_event_ics(request, note_id: int):
    note = visible_note(request.user, note_id)
    if note.kind != Note.Kind.EVENT or note.event_start is None:
        raise Http404("No event")
    note_url = request.build_absolute_uri(reverse("note_detail", args=[note.pk]))
    body = ical.event_calendar(note, note_url=note_url, host=request.get_host().split(":")[0])
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="pownce-event-{note.pk}.ics"'
    response["Cache-Control"] = "private, no-cache"
    return response
