"""Media: a file uploaded ahead of the status that will carry it (pownce/api/models.py)."""

from __future__ import annotations

from django.http import HttpRequest

from notes.selectors import visible_note
from pownce.api import mapping, services
from pownce.api.http import Answer, ApiError, endpoint, params
from pownce.api.models import MediaUpload
from pownce.api.selectors import waiting_media
from pownce.api.views.common import number


def _entity(request: HttpRequest, media: MediaUpload, viewer) -> dict:
    if media.note_id is not None:
        note = visible_note(viewer, media.note_id)
        return mapping.attachment(note, mapping.Base(request), media_id=str(media.pk))
    return {
        "id": str(media.pk),
        "type": "unknown",
        "url": None,
        "preview_url": None,
        "remote_url": None,
        "meta": {},
        "description": media.description or media.file_name,
        "blurhash": None,
    }


@endpoint(auth=True, scope="write:media", uploads=True)
def upload(request: HttpRequest, bearer):
    media = services.media_upload(
        owner=bearer.user, upload=request.FILES.get("file"), description=str(params(request).get("description") or "")
    )
    return Answer(_entity(request, media, bearer.user))


@endpoint(auth=True, scope="write:media")
def show(request: HttpRequest, bearer, media_id: str):
    pk = number(media_id, "id") or 0
    media = waiting_media(bearer.user, pk)
    if media is None:
        raise ApiError(404, "Record not found")
    return _entity(request, media, bearer.user)
