"""The note form (issue 14, items 6 and 7): a sent note brings its author back to the page it
was sent from, at the new note; the form tells, before sending, who will read the note, and
remembers the audience chosen last instead of falling back to the public."""

from __future__ import annotations

import re

import pytest

from accounts import services as account_services
from notes.models import Note
from notes.views.back import return_address
from tests.notes.conftest import make_set

KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
PARTIAL = {"HTTP_POWNCE_PARTIAL": "composer"}


@pytest.fixture
def ann_client(client, friends):
    client.force_login(friends[0])
    return client


def send(client, *, next: str | None = None, headers: dict | None = None, **data):
    data.setdefault("kind", "message")
    data.setdefault("audience", "public")
    if data["kind"] == "message":
        data.setdefault("body", "hello from the form")
    if next is not None:
        data["next"] = next
    return client.post("/notes/new/", data, **(headers or {}))


def first_card_id(html: str) -> int:
    found = re.search(r'<div class="stream">\s*<article class="note[^"]*" id="note-(\d+)"', html)
    return int(found.group(1)) if found else 0


def selected_audience(html: str) -> str:
    select = re.search(r'<select name="audience".*?</select>', html, re.S).group(0)
    chosen = re.findall(r'<option value="([^"]*)"[^>]*\sselected[\s>]', select)
    assert len(chosen) == 1, chosen
    return chosen[0]


def marker(html: str) -> tuple[str, str]:
    found = re.search(r'<p class="audience-marker audience-marker-(\w+)" id="audience-marker">([^<]*)</p>', html)
    return found.group(1), found.group(2)


# --- Item 6: back to the page it was sent from --------------------------------------------------


@pytest.mark.parametrize("page", ["/", "/?show=sent", "/?show=message", "/public/", "/ann/"])
def test_a_sent_note_comes_back_to_the_page_it_was_sent_from_at_the_top(ann_client, page):
    response = send(ann_client, next=page)
    note = Note.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{page}#note-{note.pk}"
    assert first_card_id(ann_client.get(page).content.decode()) == note.pk


def test_an_older_page_comes_back_as_the_first_page(ann_client, send_note, friends):
    response = send(ann_client, next="/?show=notes&before=123&before_reply=45")
    note = Note.objects.get()
    assert response["Location"] == f"/?show=notes#note-{note.pk}"


def test_a_stream_that_does_not_show_the_note_says_it_was_sent_and_links_it(ann_client):
    response = send(ann_client, next="/?show=link")
    note = Note.objects.get()
    assert response["Location"] == "/?show=link"
    page = ann_client.get(response["Location"]).content.decode()
    assert f'Your note was sent. <a href="/notes/{note.pk}/">See it</a>.' in page


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "javascript:alert(1)",
        "http:/evil.example/",
        " /public/",
        "/public/\n",
        "public/",
        "",
    ],
)
def test_the_return_address_is_a_path_on_this_site_or_home(ann_client, target):
    response = send(ann_client, next=target)
    assert response["Location"] == f"/#note-{Note.objects.get().pk}"


def test_return_address_keeps_the_stream_and_drops_the_fragment():
    assert return_address("/?show=link#x", default="/") == "/?show=link"
    assert return_address("/ann/?before=9", default="/", first_page=True) == "/ann/"
    assert return_address("/ann/?before=9", default="/") == "/ann/?before=9"
    assert return_address("/%2F%2Fevil.example/", default="/") == "/%2F%2Fevil.example/"  # a path here


def test_a_refused_note_keeps_what_was_typed_and_where_to_go_back(ann_client, friends):
    ann, bob = friends
    response = send(
        ann_client,
        next="/public/",
        kind="link",
        url="javascript:alert(1)",
        body="my <long> text",
        audience=f"friend:{bob.pk}",
    )
    assert response.status_code == 400 and not Note.objects.exists()
    page = response.content.decode()
    assert "http:// or https://" in page
    assert "my &lt;long&gt; text</textarea>" in page and 'value="javascript:alert(1)"' in page
    assert selected_audience(page) == f"friend:{bob.pk}"
    assert '<input type="hidden" name="next" value="/public/">' in page
    assert 'value="link" class="' in page or re.search(r'value="link"[^>]*checked', page)
    fixed = send(ann_client, next="/public/", kind="link", url="https://example.com/", audience="public")
    assert fixed["Location"].startswith("/public/#note-")


def test_the_form_in_the_background_gets_the_card_and_a_fresh_key(ann_client, friends):
    ann, bob = friends
    key = KEY.search(ann_client.get("/").content.decode()).group(1)
    response = send(
        ann_client, next="/", headers=PARTIAL, body="psst @bob", audience=f"friend:{bob.pk}", idempotency_key=key
    )
    note = Note.objects.get()
    assert response.status_code == 201
    html = response.content.decode().strip()
    assert html.startswith(f'<article class="note note-kind-message" id="note-{note.pk}">') and "<html" not in html
    assert "Private to" in html and '<a class="mention" href="/bob/">@bob</a>' in html
    assert response["Pownce-Location"] == f"/#note-{note.pk}"
    fresh = response["Pownce-Form-Key"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh) and fresh != key
    # The same form sent again is the same note; with the fresh key, a new one.
    assert send(ann_client, next="/", headers=PARTIAL, idempotency_key=key).status_code == 201
    assert Note.objects.count() == 1
    send(ann_client, next="/", headers=PARTIAL, idempotency_key=fresh)
    assert Note.objects.count() == 2


def test_the_form_in_the_background_sends_no_card_to_a_stream_without_the_note(ann_client):
    response = send(ann_client, next="/?show=event", headers=PARTIAL)
    note = Note.objects.get()
    assert response.status_code == 201 and response.content == b""
    assert response["Pownce-Location"] == f"/notes/{note.pk}/"


def test_a_refused_note_in_the_background_gets_the_form_back_with_what_was_typed(ann_client):
    response = send(ann_client, next="/", headers=PARTIAL, kind="event", event_name="Picnic", event_place="Park")
    assert response.status_code == 400 and response["Pownce-Partial"] == "composer"
    html = response.content.decode()
    assert "<html" not in html and "csrfmiddlewaretoken" not in html
    assert "Give the event a date and time." in html
    assert 'value="Picnic"' in html and 'value="Park"' in html
    assert not Note.objects.exists()


# --- Item 7: the audience, remembered and shown ---------------------------------------------------


def test_a_new_person_is_offered_the_public_with_a_clear_marker(ann_client):
    page = ann_client.get("/").content.decode()
    assert selected_audience(page) == "public"
    assert marker(page) == ("public", "Public: anyone can see it")
    assert 'aria-describedby="audience-marker"' in page


def test_the_form_remembers_the_audience_used_last(ann_client, friends):
    ann, bob = friends
    close = make_set(ann, "Close", [bob])
    for choice, expected in [
        (f"friend:{bob.pk}", ("friend", "Private to bob")),
        (f"set:{close.pk}", ("set", "Only your set Close")),
        ("friends", ("friends", "Only your friends")),
        ("public", ("public", "Public: anyone can see it")),
    ]:
        assert send(ann_client, audience=choice).status_code == 302
        for page in ("/", "/?show=sent", "/notes/new/"):
            html = ann_client.get(page).content.decode()
            assert selected_audience(html) == choice, (choice, page)
            assert marker(html) == expected, (choice, page)
    ann.refresh_from_db()
    assert ann.last_audience == "public"


def test_each_option_carries_its_marker_for_the_script(ann_client, friends):
    ann, bob = friends
    bob.display_name = 'Bob "<b>" Baker'
    bob.save()
    page = ann_client.get("/").content.decode()
    assert re.search(r'value="public"( selected)? data-marker="Public: anyone can see it"', page)
    assert f'value="friend:{bob.pk}" data-marker="Private to Bob &quot;&lt;b&gt;&quot; Baker"' in page


def test_a_remembered_audience_that_is_gone_asks_instead_of_going_public(ann_client, friends):
    ann, bob = friends
    close = make_set(ann, "Close", [bob])
    send(ann_client, audience=f"set:{close.pk}")
    account_services.friend_set_delete(close)
    page = ann_client.get("/").content.decode()
    assert selected_audience(page) == ""
    assert marker(page) == ("none", "Choose who it goes to")
    response = send(ann_client, audience="", body="where does this go?")
    assert response.status_code == 400 and "Choose who the note goes to." in response.content.decode()
    assert Note.objects.count() == 1
    # An unfriended recipient is gone the same way.
    send(ann_client, audience=f"friend:{bob.pk}")
    account_services.friend_remove(ann, bob)
    assert selected_audience(ann_client.get("/").content.decode()) == ""


def test_a_refused_note_does_not_change_the_remembered_audience(ann_client, friends):
    ann, bob = friends
    send(ann_client, audience=f"friend:{bob.pk}")
    send(ann_client, audience="public", body="   ")
    assert selected_audience(ann_client.get("/").content.decode()) == f"friend:{bob.pk}"


@pytest.mark.stack
def test_a_cached_home_offers_the_new_audience_at_once_and_stays_free_of_sql(ann_client, friends, sql_by_alias):
    from cache.stats import stats

    ann, bob = friends
    ann_client.get("/")
    assert selected_audience(ann_client.get("/").content.decode()) == "public"
    send(ann_client, audience=f"friend:{bob.pk}")
    assert selected_audience(ann_client.get("/").content.decode()) == f"friend:{bob.pk}"
    with sql_by_alias() as sql, stats.measure() as cost:
        page = ann_client.get("/").content.decode()
    assert selected_audience(page) == f"friend:{bob.pk}"
    assert not any(sql.values()) and cost.get("page_hits") == 1


@pytest.mark.parametrize(
    ("page", "link"), [("/public/", "/notes/new/?next=/public/"), ("/ann/", "/notes/new/?next=/ann/")]
)
def test_the_public_stream_and_ones_own_profile_link_a_form_that_comes_back_there(ann_client, page, link):
    assert f'href="{link}"' in ann_client.get(page).content.decode()
    form = ann_client.get(link).content.decode()
    assert f'<input type="hidden" name="next" value="{page}">' in form
    response = send(ann_client, next=page)
    assert response["Location"] == f"{page}#note-{Note.objects.get().pk}"


def test_the_form_page_takes_no_address_of_another_site(ann_client):
    form = ann_client.get("/notes/new/?next=https://evil.example/").content.decode()
    assert '<input type="hidden" name="next" value="/">' in form and "evil" not in form


def test_an_audience_that_is_no_choice_is_refused_and_marked_as_none(ann_client):
    response = send(ann_client, audience='everyone" onclick="x')
    assert response.status_code == 400 and not Note.objects.exists()
    assert marker(response.content.decode()) == ("none", "Choose who it goes to")
