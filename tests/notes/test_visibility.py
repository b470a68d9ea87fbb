"""Who sees a note: viewer × audience × state, through every path that shows a note or acts on it.

ann sends an image note and an event note to each audience; bob replies to each, and dan
forwards her public image note to the public. Around her: bob (a friend, in her set, the one
friend of private notes), cid (a friend outside the set), dan (a fan), eve (a stranger), mal (a
friend in the set), root (staff, otherwise a stranger) and someone signed out.

Every page is read once before the state changes (so the caches hold the old state), then
twice after it (the first read refills what the change invalidated, the second is served warm):
note page, file, thumbnail, ``.ics``, profile, public and home streams, replies, the forward,
and the plain ORM's ``Note.objects.visible_to``. Then each viewer tries to reply, star, forward
and report. The expected answer comes from the rules of notes/visibility.py written out below,
not from the module; every disagreement is listed at once. Outsiders get 404, never 403.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts import moderation as accounts_moderation
from accounts import services as accounts_services
from accounts.models import User
from notes import moderation, services
from notes.models import Note, Report, Star
from tests.inbox import delivered, recipient_names
from tests.notes.conftest import add_fan, befriend, make_set, png_bytes, upload

AUDIENCES = ["public", "friends", "set", "friend"]
KINDS = ["file", "event"]
VIEWERS = ["anonymous", "author", "recipient", "friend_outside_set", "fan", "stranger", "set_member", "staff"]
# Who holds a delivery of ann's note to each audience (fans get public notes; friends are fans).
DELIVERED = {
    "public": {"author", "recipient", "friend_outside_set", "fan", "set_member"},
    "friends": {"author", "recipient", "friend_outside_set", "set_member"},
    "set": {"author", "recipient", "set_member"},
    "friend": {"author", "recipient"},
}
STATES = [
    "as sent",
    "hidden",
    "author suspended",
    "replier suspended",
    "author blocked viewer",
    "viewer blocked author",
    "set membership changed",
    "friendship ended",
]


def signed_out(state: str, viewer: str) -> bool:
    """Suspended people's sessions stop resolving: they read as someone signed out."""
    return (
        viewer == "anonymous"
        or (state == "author suspended" and viewer == "author")
        or (state == "replier suspended" and viewer == "recipient")
    )


def sees(state: str, viewer: str, audience: str) -> bool:
    """The rules, written out: hidden notes and suspended authors go (1, 2); public notes reach
    everyone (3); others reach whoever they were delivered to, whatever became of the
    friendship or the set since (4), except across a block either way (5)."""
    if state in ("hidden", "author suspended"):
        return False
    if audience == "public":
        return True
    if signed_out(state, viewer):
        return False
    if (state, viewer) in {("author blocked viewer", "set_member"), ("viewer blocked author", "friend_outside_set")}:
        return False
    return viewer in DELIVERED[audience]


def blocked(state: str, viewer: str) -> bool:
    """Rule 9: across a block (either way) nothing of the author reaches the viewer's home
    stream and the viewer cannot reply to, star or forward the author's notes."""
    return (state, viewer) in {("author blocked viewer", "set_member"), ("viewer blocked author", "friend_outside_set")}


def expected(state: str, viewer: str) -> dict[tuple[str, str], bool]:
    out = {}
    replies_shown = state != "replier suspended"
    for audience in AUDIENCES:
        seen = sees(state, viewer, audience)
        for kind in KINDS:
            key = f"{audience}/{kind}"
            out["page", key] = out["orm", key] = out["profile", key] = seen
            out["file" if kind == "file" else "ics", key] = seen
            if kind == "file":
                out["thumbnail", key] = seen
            out["public", key] = seen and audience == "public"
            in_inbox = viewer in DELIVERED[audience] and not signed_out(state, viewer)
            out["home", key] = (
                seen
                and (in_inbox if not signed_out(state, viewer) else audience == "public")
                and not blocked(state, viewer)
            )
            out["reply", key] = seen and replies_shown
            if viewer in ("author", "recipient") and not signed_out(state, viewer):
                out["home replies", key] = seen and replies_shown
    forward_shown = state not in ("hidden", "author suspended")  # the original went, or its author
    for path in ("page", "file", "orm", "public"):
        out[path, "forward"] = forward_shown
    return out


@pytest.fixture
def world(make_user, settings, monkeypatch):
    monkeypatch.setattr(services, "POSTS_PER_WINDOW", 1000)
    ann, bob, cid, dan, eve, mal = (make_user(n) for n in ("ann", "bob", "cid", "dan", "eve", "mal"))
    root = make_user("root", is_staff=True, is_superuser=True)
    for friend in (bob, cid, mal):
        befriend(ann, friend)
    add_fan(dan, ann)
    close = make_set(ann, "Close friends", [bob, mal])
    extra = {"public": {}, "friends": {}, "set": {"friend_set": close}, "friend": {"recipient": bob}}
    notes = {}
    for audience in AUDIENCES:
        notes[f"{audience}/file"] = services.note_create(
            author=ann, kind="file", audience=audience, upload=upload("plan.png", png_bytes()), **extra[audience]
        )
        notes[f"{audience}/event"] = services.note_create(
            author=ann,
            kind="event",
            audience=audience,
            event_name="Picnic",
            event_start=timezone.now() + dt.timedelta(days=3),
            **extra[audience],
        )
    for key, note in notes.items():
        services.reply_create(author=bob, note_id=note.pk, body=f"reply on {key}")
    notes["forward"] = services.note_forward(user=dan, note_id=notes["public/file"].pk, audience="public")
    people = {
        "anonymous": None,
        "author": ann,
        "recipient": bob,
        "friend_outside_set": cid,
        "fan": dan,
        "stranger": eve,
        "set_member": mal,
        "staff": root,
    }
    return {"people": people, "notes": notes, "set": close}


def change(state: str, world) -> None:
    people, ann = world["people"], world["people"]["author"]
    if state == "hidden":
        moderation.notes_hide([note.pk for note in world["notes"].values() if note.author_id == ann.pk])
    elif state == "author suspended":
        accounts_moderation.users_suspend([ann.pk])
    elif state == "replier suspended":
        accounts_moderation.users_suspend([people["recipient"].pk])
    elif state == "author blocked viewer":
        accounts_services.block(ann, people["set_member"])
    elif state == "viewer blocked author":
        accounts_services.block(people["friend_outside_set"], ann)
    elif state == "set membership changed":
        # mal leaves the set after its note was delivered, cid joins after: neither changes it.
        members = [people["recipient"].pk, people["friend_outside_set"].pk]
        accounts_services.friend_set_update(world["set"], name="Close friends", member_ids=members)
    elif state == "friendship ended":
        accounts_services.friend_remove(ann, people["friend_outside_set"])


def client_for(person) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def fetch(client: Client, url: str) -> tuple[int, bytes]:
    # Reading a file response to its end closes it; closing any other response by hand would
    # close the database connection under the test's transaction.
    response = client.get(url)
    return response.status_code, b"".join(response.streaming_content) if response.streaming else response.content


def observe(client: Client, person, notes: dict[str, Note]) -> dict[tuple[str, str], bool]:
    """What every path shows this viewer, as ``{(path, note): shown}``."""
    pages = {key: fetch(client, f"/notes/{note.pk}/") for key, note in notes.items()}
    streams = {name: fetch(client, url)[1].decode() for name, url in STREAMS.items()}
    visible = set(Note.objects.visible_to(person).values_list("pk", flat=True))
    seen = {}
    for key, note in notes.items():
        status, page = pages[key]
        seen["page", key] = status == 200
        seen["orm", key] = note.pk in visible
        card = f'id="note-{note.pk}"'
        for name in ("public", "home", "profile") if key != "forward" else ("public",):
            seen[name, key] = card in streams[name]
        if note.kind == Note.Kind.FILE:
            status, content = fetch(client, f"/notes/{note.pk}/file/plan.png")
            seen["file", key] = status == 200 and content == png_bytes()
        if key == "forward":
            continue
        if note.kind == Note.Kind.FILE:
            status, content = fetch(client, f"/notes/{note.pk}/thumbnail.jpg")
            seen["thumbnail", key] = status == 200 and content.startswith(b"\xff\xd8")
        else:
            status, content = fetch(client, f"/notes/{note.pk}/event.ics")
            seen["ics", key] = status == 200 and b"SUMMARY:Picnic" in content
        seen["reply", key] = f"reply on {key}".encode() in page
        if person is not None and person.username in ("ann", "bob"):
            seen["home replies", key] = f"reply on {key}" in streams["home replies"]
    return seen


STREAMS = {"public": "/public/", "home": "/", "profile": "/ann/", "home replies": "/?show=replies"}


def disagreements(state: str, viewer: str, seen: dict, want: dict, when: str) -> list[str]:
    return [
        f"{when}: {viewer} {'sees' if seen.get(k) else 'does not see'} {k[1]} by {k[0]}"
        for k in sorted(set(want) | set(seen))
        if seen.get(k) != want.get(k)
    ]


def act(client: Client, person, note: Note) -> dict[str, tuple[int, bool]]:
    """Try every action on ``note``; ``{action: (status, whether it took effect)}``."""
    url = f"/notes/{note.pk}"
    forwards = Note.objects.filter(forwarded_from=note).count()
    return {
        "reply": (
            client.post(f"{url}/reply/", {"body": "me too"}).status_code,
            note.replies.filter(body="me too", author=person).exists(),
        ),
        "star": (client.post(f"{url}/star/").status_code, Star.objects.filter(note=note, user=person).exists()),
        "forward": (
            client.post(f"{url}/forward/", {"audience": "public"}).status_code,
            Note.objects.filter(forwarded_from=note).count() > forwards,
        ),
        "report": (
            client.post(f"{url}/report/", {"reason": "spam"}).status_code,
            Report.objects.filter(note=note, reporter=person).exists(),
        ),
    }


def expected_actions(state: str, viewer: str, audience: str) -> dict[str, tuple[int, bool]]:
    """Rule 8: whoever sees a note may reply, star and report it (not their own); forwarding
    takes a public note or one's own; rule 9: not across a block. Outsiders get 404; someone
    signed out is sent to log in."""
    if not sees(state, viewer, audience):
        return dict.fromkeys(("reply", "star", "forward", "report"), (404, False))
    if signed_out(state, viewer):
        return dict.fromkeys(("reply", "star", "forward", "report"), (302, False))
    own = viewer == "author"
    if blocked(state, viewer):
        return {"reply": (403, False), "star": (403, False), "forward": (400, False), "report": (302, True)}
    return {
        "reply": (302, True),
        "star": (302, True),
        "forward": (302, True) if audience == "public" or own else (400, False),
        "report": (400, False) if own else (302, True),
    }


@pytest.mark.parametrize("state", STATES)
def test_every_path_agrees_with_the_rules(world, state):
    notes, people = world["notes"], world["people"]
    clients = {viewer: client_for(person) for viewer, person in people.items()}
    for viewer, client in clients.items():  # the caches now hold the state before the change
        observe(client, people[viewer], notes)
    change(state, world)
    wrong = []
    reader = {v: None if signed_out(state, v) else User.objects.get(pk=people[v].pk) for v in people}
    for when in ("after the change", "served warm"):
        for viewer, client in clients.items():
            wrong += disagreements(state, viewer, observe(client, reader[viewer], notes), expected(state, viewer), when)
    for viewer, client in clients.items():  # last: actions change what the pages show
        for audience in AUDIENCES:
            note = notes[f"{audience}/file"]
            for action, got in act(client, reader[viewer], note).items():
                if got != expected_actions(state, viewer, audience)[action]:
                    wrong.append(f"{viewer} {action} on {audience}: got {got}")
    assert wrong == [], "\n".join(wrong)


def test_the_page_offers_only_the_actions_the_viewer_may_take(world):
    notes, people = world["notes"], world["people"]
    forms = {"reply": 'class="reply-form"', "forward": 'class="forward-form"', "report": 'class="card report"'}
    for viewer in ("anonymous", "author", "recipient", "fan"):
        for audience in AUDIENCES:
            if not sees("as sent", viewer, audience):
                continue
            page = client_for(people[viewer]).get(f"/notes/{notes[f'{audience}/file'].pk}/").text
            allowed = {action: took for action, (_, took) in expected_actions("as sent", viewer, audience).items()}
            offered = {action: marker in page for action, marker in forms.items()}
            assert offered == {action: allowed[action] for action in forms}, (viewer, audience)


def test_notes_sent_after_a_block_are_not_delivered(world, send_note):
    ann, mal, bob = world["people"]["author"], world["people"]["set_member"], world["people"]["recipient"]
    accounts_services.block(ann, mal)
    befriend(ann, mal)  # even if a fanship survived the block somehow
    note = send_note(ann, audience="friends")
    assert not delivered(mal, note)
    assert delivered(bob, note)


def test_person_who_blocked_the_author_receives_nothing(make_user, send_note):
    ann, bob = make_user("ann"), make_user("bob")
    befriend(ann, bob)
    accounts_services.block(bob, ann)
    befriend(ann, bob)
    note = send_note(ann, audience="friends")
    assert recipient_names(note) == {"ann"}


def test_set_note_reaches_only_members_who_are_still_friends(make_user, send_note):
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    befriend(ann, bob)
    add_fan(cid, ann)  # a fan, put in the set while a friend, who is no longer one
    note = send_note(ann, audience="set", friend_set=make_set(ann, "Old crowd", [bob, cid]))
    assert recipient_names(note) == {"ann", "bob"}
