"""Reused card HTML (notes/cards.py) is keyed by what it shows: it can never be stale."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from notes import cards, services
from notes.models import Note


@pytest.fixture
def note(make_user):
    ann = make_user("ann", display_name="Ann")
    return services.note_create(author=ann, kind="message", audience="public", body="hello world")


def render(note, viewer=None, back_to="/"):
    from django.contrib.auth.models import AnonymousUser

    return str(cards.note_card(note, None, viewer=viewer or AnonymousUser(), csrf_token="tok", back_to=back_to))


def test_a_rename_or_an_edit_renders_anew(note):
    first = render(note)
    assert "Ann" in first and "hello world" in first
    note.author.display_name = "Ann Archer"
    note.body = "edited"
    second = render(note)
    assert "Ann Archer" in second and "edited" in second and "hello world" not in second


def test_the_passing_time_renders_anew(note):
    assert "just now" in render(note)
    note.created -= timedelta(hours=3)
    assert "3 hours ago" in render(note)


def test_the_set_name_is_shown_to_the_author_only(make_user):
    from tests.notes.conftest import befriend, make_set

    ann, bob = make_user("ann2"), make_user("bob2")
    befriend(ann, bob)
    secret = make_set(ann, "Secret plans", [bob])
    note = services.note_create(author=ann, kind="message", audience="set", friend_set=secret, body="for the set")
    note = Note.objects.select_related("author", "friend_set").get(pk=note.pk)
    assert "Secret plans" in render(note, viewer=ann)
    assert "Secret plans" not in render(note, viewer=bob)


def test_footer_escapes_where_it_sends_the_reader_back(note, make_user):
    bob = make_user("bob3")
    html = render(note, viewer=bob, back_to='/?show="><script>alert(1)</script>')
    assert "<script>alert(1)" not in html and "&quot;&gt;&lt;script&gt;" in html


def test_the_note_form_inside_is_reused_but_the_token_is_per_request(make_user):
    ann = make_user("ann4")
    client = Client()
    client.force_login(ann)
    first = client.get("/").content.decode()
    client.cookies.clear()
    client.force_login(ann)
    second = client.get("/").content.decode()
    token = 'name="csrfmiddlewaretoken" value="'

    def tokens(page):
        return [part.split('"')[0] for part in page.split(token)[1:]]

    assert tokens(first) and tokens(second)
    assert set(tokens(first)).isdisjoint(tokens(second))


def test_a_reply_says_your_note_to_the_notes_author_only(make_user):
    from tests.notes.conftest import befriend

    ann, bob = make_user("ann5", display_name="Ann"), make_user("bob5", display_name="Bob")
    befriend(ann, bob)
    note = services.note_create(author=ann, kind="message", audience="friends", body="lunch?")
    reply = services.reply_create(author=bob, note_id=note.pk, body="yes please")
    from notes.streams import note_with_replies

    (loaded,) = note_with_replies(ann, note.pk).replies
    assert loaded.pk == reply.pk
    assert "your note" in str(cards.reply_item(loaded, viewer=ann))
    for_bob = str(cards.reply_item(loaded, viewer=bob))
    assert "your note" not in for_bob and "Ann’s note" in for_bob
    loaded.body = "no, sorry"
    assert "no, sorry" in str(cards.reply_item(loaded, viewer=bob))


def test_the_recipient_of_a_private_note_reads_private_to_you(client, make_user):
    """Issue 14, item 5: the one recipient is told the note is to them, not shown their own
    name; the author still sees whom they sent it to."""
    from tests.notes.conftest import befriend

    ann, bob = make_user("ann6", display_name="Ann"), make_user("bob6", display_name="Bob Baker")
    befriend(ann, bob)
    note = services.note_create(author=ann, kind="message", audience="friend", recipient=bob, body="psst")
    note = Note.objects.select_related("author", "recipient").get(pk=note.pk)
    assert '<span class="audience audience-private">Private to you</span>' in render(note, viewer=bob)
    assert '<span class="audience audience-private">Private to Bob Baker</span>' in render(note, viewer=ann)
    for viewer, badge in ((bob, "Private to you"), (ann, "Private to Bob Baker")):
        client.force_login(viewer)
        for page in ("/", f"/notes/{note.pk}/", "/?show=private"):
            html = client.get(page).content.decode()
            assert f'audience-private">{badge}</span>' in html, (viewer, page)
            assert "Private to you" not in html or viewer == bob


# --- Issue 14, item 16: cards that repeat less ---------------------------------------------------


def menu_items(html: str, note_id: int) -> list[str]:
    card = re.search(rf'id="note-{note_id}".*?</article>', html, re.S).group(0)
    menu = re.search(r'<details class="note-menu">.*?</details>', card, re.S)
    return re.findall(r"<li><a[^>]*>([^<]*)</a></li>", menu.group(0)) if menu else []


def test_the_public_stream_does_not_mark_every_note_public(client, make_user):
    from tests.notes.conftest import befriend

    ann, bob = make_user("ann7"), make_user("bob7")
    befriend(ann, bob)
    services.note_create(author=ann, kind="message", audience="public", body="for all")
    services.note_create(author=ann, kind="message", audience="friends", body="for friends")
    badge = '<span class="audience audience-public">Public</span>'
    assert badge not in client.get("/public/").content.decode()
    assert badge not in client.get("/").content.decode()  # a visitor's home: the public stream
    client.force_login(bob)
    assert badge not in client.get("/public/").content.decode()
    home = client.get("/").content.decode()
    assert badge in home and '<span class="audience audience-friends">Friends</span>' in home


def test_forward_report_and_delete_fold_into_a_menu_of_what_the_reader_may_do(client, make_user):
    from tests.notes.conftest import befriend

    ann, bob = make_user("ann8"), make_user("bob8")
    befriend(ann, bob)
    public = services.note_create(author=ann, kind="message", audience="public", body="for all")
    friends_only = services.note_create(author=ann, kind="message", audience="friends", body="for friends")
    page = f"/notes/{public.pk}/"
    assert menu_items(client.get("/public/").content.decode(), public.pk) == []  # a visitor may do none
    client.force_login(bob)
    home = client.get("/").content.decode()
    assert menu_items(home, public.pk) == ["Forward…", "Report…"]
    assert menu_items(home, friends_only.pk) == ["Report…"]  # someone else's non-public note stays theirs
    assert f'<li><a href="{page}#forward">Forward…</a></li><li><a href="{page}#report">Report…</a></li>' in home
    client.force_login(ann)
    assert menu_items(client.get("/").content.decode(), public.pk) == ["Forward…", "Delete…"]
    assert '<summary title="More" aria-label="More actions for this note">' in client.get(page).content.decode()


def test_the_note_page_shows_the_note_and_replies_before_the_forms(client, make_user):
    from tests.notes.conftest import befriend

    ann, bob = make_user("ann9"), make_user("bob9")
    befriend(ann, bob)
    note = services.note_create(author=ann, kind="message", audience="public", body="the note")
    services.reply_create(author=ann, note_id=note.pk, body="the first reply")
    client.force_login(bob)
    html = client.get(f"/notes/{note.pk}/").content.decode()
    order = [
        html.index("the note"),
        html.index("the first reply"),
        html.index('class="reply-form"'),
        html.index('<section class="card forward" id="forward"'),
        html.index('<details class="card report" id="report"'),
    ]
    assert order == sorted(order)
