"""Profile photos: re-encoded original plus square small and medium thumbnails."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts import services
from accounts.models import User

pytestmark = pytest.mark.django_db


def image_bytes(size=(300, 200), fmt="PNG", color=(200, 40, 40), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(data: bytes, name="me.png", content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def post_settings(browser, **fields):
    data = {"display_name": "", "bio": "", "location": "", "website": "", **fields}
    return browser.post("/settings/", data)


def stored(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as handle:
        image = Image.open(handle)
        image.load()
        return image


def test_upload_makes_original_small_and_medium(alice, as_user):
    response = post_settings(as_user(alice), photo=upload(image_bytes((300, 200))), display_name="Alice")
    assert response.status_code == 302

    alice.refresh_from_db()
    original, small, medium = stored(alice.photo.name), stored(alice.photo_small.name), stored(alice.photo_medium.name)
    assert (original.format, original.size) == ("JPEG", (300, 200))
    assert (small.format, small.size) == ("JPEG", (48, 48))
    assert (medium.format, medium.size) == ("JPEG", (128, 128))
    assert alice.display_name == "Alice"


def test_photos_are_served_by_their_url(alice, client):
    services.user_photo_set(alice, upload(image_bytes()))
    alice.refresh_from_db()
    for url, side in ((alice.photo_small_url, 48), (alice.photo_medium_url, 128)):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (side, side)
    assert client.get("/photos/small/nothing-here.jpg").status_code == 404
    assert client.get("/photos/small/..%2F..%2Fsettings.py").status_code == 404


def test_a_new_photo_replaces_the_old_files(alice, django_capture_on_commit_callbacks):
    services.user_photo_set(alice, upload(image_bytes(color=(0, 0, 255))))
    alice.refresh_from_db()
    old = [alice.photo.name, alice.photo_small.name, alice.photo_medium.name]
    with django_capture_on_commit_callbacks(execute=True):
        services.user_photo_set(alice, upload(image_bytes(color=(0, 255, 0))))
    alice.refresh_from_db()
    assert alice.photo.name not in old
    assert not any(default_storage.exists(name) for name in old)


def test_large_original_is_scaled_down(alice):
    services.user_photo_set(alice, upload(image_bytes((4000, 1000), fmt="JPEG"), name="wide.jpg"))
    alice.refresh_from_db()
    assert stored(alice.photo.name).size == (services.PHOTO_ORIGINAL_MAX_SIDE, 400)


def test_transparent_png_is_flattened(alice):
    services.user_photo_set(alice, upload(image_bytes(mode="RGBA", color=(0, 0, 0, 0))))
    alice.refresh_from_db()
    assert stored(alice.photo_small.name).getpixel((24, 24)) == pytest.approx((255, 255, 255), abs=3)


@pytest.mark.parametrize(
    "data,name",
    [
        (b"just some text, not a picture", "notes.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "evil.svg"),
        (b"%PDF-1.4\n%fake", "doc.jpg"),
        (image_bytes()[:60], "truncated.png"),
        (b"", "empty.png"),
    ],
)
def test_non_images_are_refused_with_a_clear_error(alice, as_user, data, name):
    response = post_settings(as_user(alice), photo=upload(data, name=name), display_name="Kept Name", bio="kept bio")
    body = response.content.decode()
    assert response.status_code == 200
    assert "photo we can read" in body or "empty" in body
    # Nothing is lost from the form, and nothing is saved.
    assert 'value="Kept Name"' in body and "kept bio" in body
    alice.refresh_from_db()
    assert not alice.photo and alice.display_name == "Alice Liddell"


def test_oversize_photo_is_refused(alice, as_user, monkeypatch):
    monkeypatch.setattr(services, "PHOTO_MAX_BYTES", 1000)
    big = image_bytes((400, 400), fmt="BMP")
    response = post_settings(as_user(alice), photo=upload(big, name="big.bmp"))
    assert response.status_code == 200
    assert "photos can be at most" in response.content.decode()
    alice.refresh_from_db()
    assert not alice.photo


def test_too_many_pixels_is_refused_before_decoding(alice, monkeypatch):
    from django.core.exceptions import ValidationError

    monkeypatch.setattr(services, "PHOTO_MAX_PIXELS", 100)
    with pytest.raises(ValidationError, match="too many pixels"):
        services.user_photo_set(alice, upload(image_bytes((20, 20))))


def test_polyglot_payload_does_not_survive(alice):
    payload = b"<html><script>alert(document.cookie)</script></html>"
    data = image_bytes() + payload  # a valid PNG with HTML after its end
    services.user_photo_set(alice, upload(data))
    alice.refresh_from_db()
    for name in (alice.photo.name, alice.photo_small.name, alice.photo_medium.name):
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
        assert content.startswith(b"\xff\xd8") and b"<script>" not in content


def test_remove_photo(alice, as_user, django_capture_on_commit_callbacks):
    services.user_photo_set(alice, upload(image_bytes()))
    alice.refresh_from_db()
    name = alice.photo.name
    with django_capture_on_commit_callbacks(execute=True):
        post_settings(as_user(alice), remove_photo="on")
    alice.refresh_from_db()
    assert not alice.photo and not alice.photo_small
    assert not default_storage.exists(name)
    assert alice.photo_small_url.endswith("avatar.svg")


def test_thumbnails_can_be_remade_from_the_stored_original(alice):
    services.user_photo_set(alice, upload(image_bytes()))
    User.objects.filter(pk=alice.pk).update(photo_small="", photo_medium="")
    services.photo_thumbnails_make(alice.pk)
    alice.refresh_from_db()
    assert stored(alice.photo_small.name).size == (48, 48)


def test_bad_photo_is_reported_together_with_other_mistakes(alice, as_user):
    response = post_settings(as_user(alice), photo=upload(b"not a picture"), website="javascript:alert(1)")
    body = response.content.decode()
    assert "photo we can read" in body and "http:// or https://" in body
