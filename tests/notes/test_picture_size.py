"""A picture on a card has its box before it loads: the card's ``<img>`` carries the width and
height the picture is shown at (its upright size fitted into notes.files.PICTURE_BOX), so the
stream does not jump when the thumbnail arrives."""

from __future__ import annotations

import io
import re

from PIL import Image

from notes import files, services
from notes.models import Note
from tests.notes.conftest import png_bytes, upload


def jpeg_turned_a_quarter(size: tuple[int, int]) -> bytes:
    """A JPEG stored ``size`` wide and high whose EXIF says: turn it 90° to show it upright."""
    exif = Image.Exif()
    exif[files.EXIF_ORIENTATION] = 6
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def picture_attributes(client, note: Note) -> tuple[int, int] | None:
    html = client.get(f"/notes/{note.pk}/").content.decode()
    card = re.search(rf'<article[^>]*id="note-{note.pk}".*?</article>', html, re.S).group(0)
    img = re.search(r'<a class="note-thumb"[^>]*><img ([^>]*)>', card)
    if img is None:
        return None
    found = dict(re.findall(r'(width|height)="(\d+)"', img.group(1)))
    return (int(found["width"]), int(found["height"])) if found else ()


def test_a_wide_picture_is_shown_fitted_into_the_card_box(client, friends, send_note):
    note = send_note(friends[0], kind="file", upload=upload("field.png", png_bytes((640, 400))))
    assert (note.image_width, note.image_height) == (640, 400)
    assert picture_attributes(client, note) == (480, 300)


def test_a_tall_picture_is_fitted_by_its_height_and_a_small_one_is_not_enlarged(client, friends, send_note):
    tall = send_note(friends[0], kind="file", upload=upload("tower.png", png_bytes((600, 1200))))
    small = send_note(friends[0], kind="file", upload=upload("icon.png", png_bytes((100, 50))))
    assert picture_attributes(client, tall) == (160, 320)
    assert picture_attributes(client, small) == (100, 50)


def test_a_picture_turned_by_its_exif_is_measured_upright(client, friends, send_note):
    note = send_note(friends[0], kind="file", upload=upload("phone.jpg", jpeg_turned_a_quarter((640, 400))))
    assert (note.image_width, note.image_height) == (400, 640)
    assert picture_attributes(client, note) == (200, 320)
    # The thumbnail the card then shows is upright too: the same shape as the box.
    with Image.open(Note.objects.get(pk=note.pk).thumbnail.path) as thumbnail:
        assert thumbnail.size[0] < thumbnail.size[1]


def test_a_note_stored_before_sizes_were_recorded_gets_its_size_with_its_thumbnail(client, friends, send_note):
    note = send_note(friends[0], kind="file", upload=upload("old.png", png_bytes((640, 400))))
    Note.objects.filter(pk=note.pk).update(thumbnail="", image_width=None, image_height=None)
    note.refresh_from_db()
    assert files.shown_picture_size(note) is None
    assert files.thumbnail_create(note)
    assert picture_attributes(client, Note.objects.get(pk=note.pk)) == (480, 300)


def test_files_that_are_not_pictures_have_no_size_and_forwards_keep_it(client, friends, send_note):
    ann, bob = friends
    text = send_note(ann, kind="file", upload=upload("notes.txt", b"plain text"))
    assert (text.image_width, text.image_height) == (None, None)
    assert picture_attributes(client, text) is None
    picture = send_note(ann, kind="file", upload=upload("field.png", png_bytes((640, 400))))
    forward = services.note_forward(user=bob, note_id=picture.pk, audience="public")
    assert (forward.image_width, forward.image_height) == (640, 400)
