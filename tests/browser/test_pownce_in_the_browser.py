"""Pownce in a real browser, through HAProxy and both app servers: three people sign up, two
become friends and send each other every kind of note, a private note stays between them,
replies and stars show up, a big file goes up with the progress bar, and the event and the
file come back down. Screenshots of the main pages are saved under ``test-artifacts/``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import PHONE

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PASSWORD = "a long browser password 42"
BIG_FILE_BYTES = 6 * 1024 * 1024
UPLOAD_BYTES_PER_SECOND = 16 * 1024 * 1024

# Runs in the page before the big upload is sent: remembers, in sessionStorage (it survives
# the navigation to the new note), each state the progress box and its bar went through.
RECORD_PROGRESS = """
() => {
  const box = document.querySelector(".upload-progress");
  const bar = box.querySelector("progress");
  sessionStorage.setItem("progress", "[]");
  const record = () => {
    const seen = JSON.parse(sessionStorage.getItem("progress"));
    seen.push({hidden: box.hidden, value: bar.value});
    sessionStorage.setItem("progress", JSON.stringify(seen));
  };
  new MutationObserver(record).observe(box, {attributes: true, subtree: true});
}
"""


def photo_png(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A profile photo: a vertical gradient with a light disc, like a generated avatar."""
    image = Image.new("RGB", (256, 256))
    draw = ImageDraw.Draw(image)
    for y in range(256):
        mix = y / 255
        draw.line([(0, y), (255, y)], fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))
    draw.ellipse((78, 58, 178, 158), fill=(255, 255, 255))
    draw.ellipse((38, 170, 218, 330), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def picture_png() -> bytes:
    """A small landscape picture for an image note (it gets a thumbnail)."""
    image = Image.new("RGB", (640, 400), (120, 180, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse((470, 40, 560, 130), fill=(255, 214, 90))
    draw.polygon([(0, 400), (200, 170), (380, 400)], fill=(70, 120, 80))
    draw.polygon([(220, 400), (450, 130), (640, 330), (640, 400)], fill=(50, 95, 65))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def throttled(*, upload: int) -> dict:
    """Chromium's network conditions with uploads limited to ``upload`` bytes a second (-1: none)."""
    return {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload}


def sign_up(page, username: str, *, name: str, bio: str, location: str, photo: bytes) -> None:
    page.goto("/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/settings/")
    assert f"Welcome to Pownce, {username}!" in page.locator(".messages").inner_text()
    page.set_input_files("#id_photo", files=[{"name": f"{username}.png", "mimeType": "image/png", "buffer": photo}])
    page.fill("#id_display_name", name)
    page.fill("#id_bio", bio)
    page.fill("#id_location", location)
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_url("**/settings/")
    assert "Your profile has been saved." in page.locator(".messages").inner_text()


def choose_kind(page, kind: str) -> None:
    page.goto("/")
    page.locator(f"label.kind-tab.kind-{kind}").click()
    assert page.locator(f'input[name="kind"][value="{kind}"]').is_checked()


def sent_note(page) -> int:
    """The id of the note just sent from home: the script puts its card at the top of the
    stream, without leaving the page."""
    card = page.locator(".stream > article.note-new").first
    card.wait_for()
    return int(card.get_attribute("id").removeprefix("note-"))


def send(page, *, audience: str | None = None) -> int:
    """Press "Send it" on the composer; return the id of the note sent."""
    if audience:
        page.select_option("#id_audience", label=audience)
    page.get_by_role("button", name="Send it").click()
    return sent_note(page)


def post_message(page, body: str, *, audience: str | None = None) -> int:
    choose_kind(page, "message")
    page.fill("#id_body", body)
    return send(page, audience=audience)


def post_link(page, url: str, body: str) -> int:
    choose_kind(page, "link")
    page.fill("#id_url", url)
    page.fill("#id_body", body)
    return send(page)


def post_event(page, name: str, start: str, place: str) -> int:
    choose_kind(page, "event")
    page.fill("#id_event_name", name)
    page.fill("#id_event_start", start)
    page.fill("#id_event_place", place)
    return send(page)


def post_file(page, name: str, mime: str, content: bytes, body: str) -> int:
    choose_kind(page, "file")
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": mime, "buffer": content}])
    page.fill("#id_body", body)
    return send(page)


def card(page, note_id: int):
    return page.locator(f"#note-{note_id}")


def shoot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)


def test_two_friends_share_every_kind_of_note_in_the_browser(
    web_stack, empty_stores, uploads_removed, new_person, artifacts
):
    ann, bob, cat = new_person(), new_person(), new_person()

    # --- three people sign up, each in a browser of their own -------------------------------
    sign_up(
        ann,
        "ann",
        name="Ann Archer",
        bio="Takes pictures of bridges.",
        location="Lisbon",
        photo=photo_png((236, 104, 76), (146, 40, 94)),
    )
    sign_up(
        bob,
        "bob",
        name="Bob Baker",
        bio="Bakes bread, sends links.",
        location="Oslo",
        photo=photo_png((70, 160, 220), (30, 70, 150)),
    )
    sign_up(
        cat,
        "cat",
        name="Cat Cole",
        bio="Just looking around.",
        location="Porto",
        photo=photo_png((120, 190, 110), (40, 110, 80)),
    )

    # --- ann adds bob, bob accepts: friends ---------------------------------------------------
    ann.goto("/bob/")
    ann.get_by_role("button", name="+ Add as friend").click()
    ann.wait_for_url("**/bob/")
    assert "You're a fan" in ann.locator(".profile-actions").inner_text()
    bob.goto("/friends/requests/")
    request = bob.locator("li.person", has_text="Ann Archer")
    request.get_by_role("button", name="Accept").click()
    bob.wait_for_url("**/friends/requests/")
    assert bob.locator("li.person").count() == 0
    for page, other in ((ann, "bob"), (bob, "ann")):
        page.goto(f"/{other}/")
        assert "Friends" in page.locator(".relation-friends").inner_text()
        assert "1 Friend" in page.locator(".profile-tabs").inner_text()

    # --- each posts each kind through the real form -------------------------------------------
    ann_message = post_message(ann, "Morning, Pownce! Coffee on the river today.")
    ann_link = post_link(ann, "https://example.com/bridges", "The best bridge photos I found this year.")
    ann_event = post_event(ann, "Bridge walk", "2031-05-17T18:30", "Ponte 25 de Abril, south end")
    assert "Bridge walk" in card(ann, ann_event).inner_text()
    picture = picture_png()
    bob_message = post_message(bob, "Fresh sourdough is out of the oven.")
    bob_link = post_link(bob, "https://example.org/bread", "How to keep a starter alive.")
    bob_file = post_file(bob, "field.png", "image/png", picture, "The field behind the bakery.")
    card(bob, bob_file).locator(".note-thumb img").wait_for(state="visible")
    bob_event = post_event(bob, "Bread class", "2031-06-02T10:00", "Bakery on Grünerløkka")

    # --- ann uploads a big file: the progress bar shows, the note comes through the script ----
    big_file = os.urandom(BIG_FILE_BYTES)
    choose_kind(ann, "file")
    ann.set_input_files("#id_file", files=[{"name": "bridges.zip", "mimeType": "application/zip", "buffer": big_file}])
    ann.fill("#id_body", "All my bridge photos, in one file.")
    assert ann.locator(".upload-progress").is_hidden()
    ann.evaluate(RECORD_PROGRESS)
    # A loopback upload is over before the first progress event: slow the upload down to a
    # fast home line, so the bar has steps to show.
    network = ann.context.new_cdp_session(ann)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", throttled(upload=UPLOAD_BYTES_PER_SECOND))
    with ann.expect_request(lambda r: r.method == "POST" and r.url.endswith("/notes/new/")) as sent:
        ann.get_by_role("button", name="Send it").click()
    assert sent.value.resource_type == "xhr"  # the script sent it, not a plain form post
    ann_file = sent_note(ann)
    network.send("Network.emulateNetworkConditions", throttled(upload=-1))
    progress = json.loads(ann.evaluate("sessionStorage.getItem('progress')"))
    # The box showed while the file went up (and hid once the note was sent).
    showing = [state for state in progress if not state["hidden"]]
    assert showing and progress[: len(showing)] == showing, progress
    values = [state["value"] for state in showing]
    assert values == sorted(values) and values[-1] == 100, values
    assert any(0 < value < 100 for value in values), values  # and moved on its way
    assert card(ann, ann_file).locator(".file-name").inner_text() == "bridges.zip"
    assert card(ann, ann_file).locator(".file-size").inner_text() == "6.0 MB"

    # --- a private note from ann to bob --------------------------------------------------------
    secret = "Bob, the surprise party is on Friday. Tell nobody!"
    private = post_message(ann, secret, audience="Bob Baker (@bob)")
    assert card(ann, private).locator(".audience").text_content() == "Private to Bob Baker"
    bob.goto("/")
    assert card(bob, private).is_visible()
    assert secret in card(bob, private).inner_text()
    assert card(bob, private).locator(".audience").text_content() == "Private to you"
    bob.goto("/?show=private")
    assert secret in bob.locator(".stream").inner_text()

    # ... and nobody else sees it: cat gets 404 on its page and finds it in no stream.
    response = cat.goto(f"/notes/{private}/")
    assert response.status == 404
    assert cat.locator("h1").inner_text() == "Nothing to see here"
    assert secret not in cat.content()
    for path in ("/", "/public/", "/ann/", "/bob/"):
        cat.goto(path)
        assert secret not in cat.content()
        assert cat.locator(f"#note-{private}").count() == 0
    cat.goto("/public/")
    assert card(cat, ann_message).is_visible()  # ann's public notes, on the other hand, reach cat
    assert card(cat, bob_link).is_visible()

    # --- bob replies to the private note; ann sees the reply -----------------------------------
    bob.goto(f"/notes/{private}/")
    reply = "I won't say a word. Bringing bread!"
    bob.fill("form.reply-form textarea[name=body]", reply)
    bob.get_by_role("button", name="Reply", exact=True).click()
    bob.wait_for_url(re.compile(rf"/notes/{private}/#reply-\d+$"))
    assert reply in bob.locator("#replies").inner_text()
    ann.goto(f"/notes/{private}/")
    assert reply in ann.locator("#replies").inner_text()
    assert "1 reply" in card(ann, private).locator(".note-actions").inner_text()
    assert cat.request.get(f"/notes/{private}/").status == 404

    # --- ann stars bob's note; the count shows for both ------------------------------------------
    ann.goto(f"/notes/{bob_message}/")
    ann.locator(f"#note-{bob_message} button.star").click()
    ann.wait_for_url(re.compile(rf"/notes/{bob_message}/"))
    star = card(ann, bob_message).locator("button.star")
    assert star.get_attribute("aria-pressed") == "true"
    assert star.inner_text().strip() == "★ 1"
    bob.goto(f"/notes/{bob_message}/")
    assert card(bob, bob_message).locator(".star").inner_text().strip() == "★ 1"

    # --- bob downloads ann's event as .ics, and ann's big file ---------------------------------
    bob.goto("/")
    assert card(bob, ann_event).is_visible()
    with bob.expect_download() as ics:
        card(bob, ann_event).get_by_role("link", name="Add to calendar").click()
    calendar = open(ics.value.path(), encoding="utf-8").read()
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert "SUMMARY:Bridge walk" in calendar
    with bob.expect_download() as download:
        card(bob, ann_file).locator("a.file-download").click()
    assert download.value.suggested_filename == "bridges.zip"
    with open(download.value.path(), "rb") as downloaded:
        assert hashlib.sha256(downloaded.read()).digest() == hashlib.sha256(big_file).digest()

    # --- screenshots: home stream, a note page, a profile; home on a phone -----------------
    ann.goto("/")
    for note_id in (ann_message, ann_link, ann_event, ann_file, private, bob_message, bob_file, bob_event):
        assert card(ann, note_id).is_visible()
    shoot(ann, artifacts / "home-stream.png")
    bob.goto(f"/notes/{private}/")
    shoot(bob, artifacts / "note-page.png")
    bob.goto("/ann/")
    shoot(bob, artifacts / "profile-page.png")
    cat.goto(f"/notes/{private}/")
    shoot(cat, artifacts / "not-found.png")
    phone = ann.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto("/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(phone, artifacts / "home-stream-phone.png")
