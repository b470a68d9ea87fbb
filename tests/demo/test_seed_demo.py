from io import StringIO

from django.core.management import call_command

from accounts.models import Fanship, User
from notes.models import Note, Reply, Star
from tests.inbox import delivery_rows


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_seed_demo_makes_every_kind_and_audience_and_tops_up(db):
    output = seed(users=40, notes=400)
    assert "pownce-demo" in output
    assert User.objects.count() == 40 and Note.objects.count() == 400
    assert set(Note.objects.values_list("kind", flat=True)) == set(Note.Kind.values)
    assert set(Note.objects.values_list("audience", flat=True)) == set(Note.Audience.values)
    assert Reply.objects.exists() and Star.objects.exists()
    # Every note is in its author's inbox; private notes reach exactly one other person.
    for note in Note.objects.all()[:100]:
        recipients = {row.recipient_id for row in delivery_rows(note_id=note.pk)}
        assert note.author_id in recipients
        if note.audience == Note.Audience.FRIEND:
            assert recipients == {note.author_id, note.recipient_id}
    popular = User.objects.order_by("pk").first()
    assert Fanship.objects.filter(idol=popular).count() > Fanship.objects.filter(idol=User.objects.last()).count()

    assert "Already seeded" in seed(users=40, notes=400)
    assert Note.objects.count() == 400
    seed(users=45, notes=450)
    assert User.objects.count() == 45 and Note.objects.count() == 450
    assert "not seeding" in seed(users=50, notes=500, if_empty=True)
    assert Note.objects.count() == 450


def test_seeded_notes_show_in_streams_cached_before_seeding(db, client):
    assert "Nobody has shared anything" in client.get("/public/").content.decode()  # cached empty
    seed(users=20, notes=200)
    page = client.get("/public/").content.decode()
    assert "Nobody has shared anything" not in page and 'class="note note-kind-' in page
