"""Uploaded files: storing them, thumbnails, and serving them to a note's audience only.

Files live under MEDIA_ROOT at random paths and are never served from a public URL; the
download view checks visibility and then streams the file itself, or hands it to the front
server with ``X-Accel-Redirect`` (nginx) / ``X-Sendfile`` (Apache, lighttpd) when
FILE_SERVE_HEADER says so. Only a few image types, checked by decoding them, are shown
inline; everything else (HTML and SVG above all) is an attachment, with ``nosniff``.
"""

from __future__ import annotations

import logging
import mimetypes
from io import BytesIO
from urllib.parse import quote

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpResponse
from django_tasks import task
from PIL import Image, ImageOps, UnidentifiedImageError

from notes import caching
from notes.models import Note

logger = logging.getLogger("pownce.notes")

# Types a browser may show inline: raster images, and only after Pillow decoded them as such.
INLINE_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
THUMBNAIL_SIZE = (480, 480)
# The box a card shows a picture in (CSS narrows it further to the card's width on a phone).
PICTURE_BOX = (480, 320)
# EXIF orientations that turn a picture a quarter: its upright width is its stored height.
QUARTER_TURNS = {5, 6, 7, 8}
EXIF_ORIENTATION = 0x0112
# Decoding costs pixels, not bytes: a 419 KB PNG of 12000×12000 took a worker to 1.17 GB. An
# image with more pixels than this is kept as a plain download, without a preview, and is never
# decoded (the same cap as profile photos).
IMAGE_MAX_PIXELS = 40_000_000


def attach_upload(note: Note, upload: UploadedFile, file_name: str) -> None:
    """Store ``upload`` for ``note`` (not yet saved) and record what it is."""
    note.file_name = file_name
    note.file_size = upload.size
    guessed = mimetypes.guess_type(file_name)[0]
    # Only a decoded image counts as one: a page named "cat.png" stays a download.
    if guessed in INLINE_IMAGE_TYPES.values():
        guessed = None
    kind, size = _image_type(upload)
    note.file_type = kind or guessed or "application/octet-stream"
    note.image_width, note.image_height = size or (None, None)
    note.file.save(file_name, upload, save=False)


def _image_type(upload: UploadedFile) -> tuple[str | None, tuple[int, int] | None]:
    """The type of an image a browser may show inline and we may make a thumbnail of, and its
    upright size in pixels; (None, None) for anything else. Only the header is read for the
    size and orientation; ``verify()`` checks the chunks without decoding."""
    kind, size = None, None
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            width, height = image.size
            if width * height <= IMAGE_MAX_PIXELS:
                image.verify()
                kind = INLINE_IMAGE_TYPES.get(image.format or "")
        if kind:
            # Opened again: nothing may be read between open() and verify().
            upload.seek(0)
            with Image.open(upload) as image:
                turned = image.getexif().get(EXIF_ORIENTATION) in QUARTER_TURNS
            size = (height, width) if turned else (width, height)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        kind, size = None, None
    upload.seek(0)
    return kind, size


def shown_picture_size(note: Note) -> tuple[int, int] | None:
    """The size in CSS pixels a card shows ``note``'s picture at — its upright size fitted into
    ``PICTURE_BOX``, never enlarged, aspect ratio kept — or None when the size is not known.
    The card's ``<img>`` carries it as width and height, so the page keeps the picture's place
    while it loads (the thumbnail and, before the task has made it, the image itself alike)."""
    width, height = note.image_width, note.image_height
    if not width or not height:
        return None
    scale = min(1, PICTURE_BOX[0] / width, PICTURE_BOX[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_create(note: Note) -> bool:
    """Make the thumbnail of an image note. Self-contained so it can run as a background task."""
    if note.file_type not in INLINE_IMAGE_TYPES.values() or not note.file:
        return False
    try:
        with note.file.open("rb") as stored, Image.open(stored) as image:
            # Checked again here: a note stored before the cap existed must not be decoded either.
            if image.size[0] * image.size[1] > IMAGE_MAX_PIXELS:
                logger.warning("no thumbnail for note %s: %s×%s pixels", note.pk, *image.size)
                return False
            image = ImageOps.exif_transpose(image)
            upright = image.size
            image.thumbnail(THUMBNAIL_SIZE)
            out = BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        logger.warning("no thumbnail for note %s", note.pk, exc_info=True)
        return False
    note.thumbnail.save("thumb.jpg", ContentFile(out.getvalue()), save=False)
    # The size too: a note stored before sizes were recorded gets its picture's box here.
    note.image_width, note.image_height = upright
    Note.objects.filter(pk=note.pk).update(
        thumbnail=note.thumbnail.name, image_width=note.image_width, image_height=note.image_height
    )
    caching.note_rows_changed([note.pk])  # update() sends no signal
    return True


@task()
def note_thumbnail_make(note_id: int) -> bool:
    """The task worker's job: make the thumbnail of image note ``note_id`` unless it has one
    already (so running it twice is harmless)."""
    note = Note.objects.filter(pk=note_id).first()
    if note is None or note.thumbnail:
        return False
    return thumbnail_create(note)


def delete_unused(names: list[str]) -> None:
    """Delete stored files no note refers to any more (forwards share their original's file)."""
    for name in names:
        if not Note.objects.filter(file=name).exists() and not Note.objects.filter(thumbnail=name).exists():
            default_storage.delete(name)


def is_inline(note: Note) -> bool:
    return note.file_type in INLINE_IMAGE_TYPES.values()


def _disposition(kind: str, file_name: str) -> str:
    ascii_name = file_name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"


def stored_file_response(name: str, *, content_type: str, disposition: str) -> HttpResponse:
    """Serve a stored file, or delegate the bytes to the front server."""
    header = settings.FILE_SERVE_HEADER
    if header == "X-Accel-Redirect":
        response = HttpResponse(content_type=content_type)
        response[header] = settings.FILE_SERVE_PREFIX.rstrip("/") + "/" + quote(name)
    elif header == "X-Sendfile":
        response = HttpResponse(content_type=content_type)
        response[header] = default_storage.path(name)
    else:
        response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    # Even a file a browser renders by mistake runs no script and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600" if not settings.DEBUG else "private, no-cache"
    return response


def file_response(note: Note) -> HttpResponse:
    if is_inline(note):
        content_type, kind = note.file_type, "inline"
    else:
        content_type, kind = "application/octet-stream", "attachment"
    return stored_file_response(
        note.file.name, content_type=content_type, disposition=_disposition(kind, note.file_name)
    )


def thumbnail_response(note: Note) -> HttpResponse:
    return stored_file_response(note.thumbnail.name, content_type="image/jpeg", disposition="inline")
