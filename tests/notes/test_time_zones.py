"""Event times in each person's time zone: typed in the author's wall clock, stored as the true
instant, shown to each reader in their own zone with the zone named, and UTC in the .ics and
the API (accounts/timezones.py, accounts/middleware.py)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.test import Client

from accounts import services as account_services
from accounts.models import User
from notes import services
from notes.models import Note
from pownce.api import mapping

LOS_ANGELES = "America/Los_Angeles"
PARIS = "Europe/Paris"


@pytest.fixture
def people(make_user):
    """lola lives in Los Angeles, pierre in Paris, uma keeps UTC; each signed in."""
    lola = make_user("lola", time_zone=LOS_ANGELES)
    pierre = make_user("pierre", time_zone=PARIS)
    uma = make_user("uma")
    clients = {}
    for person in (lola, pierre, uma):
        clients[person.username] = Client()
        clients[person.username].force_login(person)
    return clients


def event_when(html: str, note_id: int) -> str:
    card = html[html.index(f'id="note-{note_id}"') :]
    return re.search(r'<p class="event-when"><time datetime="([^"]+)">([^<]+)</time>', card).groups()


def test_an_evening_event_typed_in_los_angeles_is_the_true_instant_everywhere(people):
    """19:30 typed by someone in Los Angeles is 03:30 UTC the next day: the .ics holds that
    instant, Los Angeles sees 19:30 PST, Paris 04:30 CET, and someone signed out 03:30 UTC."""
    response = people["lola"].post(
        "/notes/new/",
        {"kind": "event", "audience": "public", "event_name": "Sunset swing", "event_start": "2030-12-05T19:30"},
    )
    assert response.status_code == 302, response.content.decode()[:400]
    note = Note.objects.get()
    assert note.event_start == dt.datetime(2030, 12, 6, 3, 30, tzinfo=dt.UTC)

    calendar = Client().get(f"/notes/{note.pk}/event.ics").content.decode()
    assert "DTSTART:20301206T033000Z\r\n" in calendar and "DTEND:20301206T043000Z\r\n" in calendar

    page = f"/notes/{note.pk}/"
    assert event_when(people["lola"].get(page).content.decode(), note.pk) == (
        "2030-12-05T19:30:00-08:00",
        "Thu 5 Dec 2030, 19:30 PST (America/Los_Angeles)",
    )
    assert event_when(people["pierre"].get(page).content.decode(), note.pk) == (
        "2030-12-06T04:30:00+01:00",
        "Fri 6 Dec 2030, 04:30 CET (Europe/Paris)",
    )
    assert event_when(Client().get(page).content.decode(), note.pk)[1] == "Fri 6 Dec 2030, 03:30 UTC"
    assert event_when(people["uma"].get(page).content.decode(), note.pk)[1] == "Fri 6 Dec 2030, 03:30 UTC"
    # The same card on the public stream, rendered once per zone (cards are reused per process).
    assert "04:30 CET (Europe/Paris)" in people["pierre"].get("/public/").content.decode()
    assert "19:30 PST (America/Los_Angeles)" in people["lola"].get("/public/").content.decode()


def test_summer_time_is_named_as_such(people):
    note = services.note_create(
        author=User.objects.get(username="uma"),
        kind="event",
        audience="public",
        event_name="Midsummer",
        event_start=dt.datetime(2031, 6, 21, 18, 0, tzinfo=dt.UTC),
    )
    page = f"/notes/{note.pk}/"
    assert event_when(people["lola"].get(page).content.decode(), note.pk)[1] == (
        "Sat 21 Jun 2031, 11:00 PDT (America/Los_Angeles)"
    )
    assert event_when(people["pierre"].get(page).content.decode(), note.pk)[1] == (
        "Sat 21 Jun 2031, 20:00 CEST (Europe/Paris)"
    )


def test_the_note_form_names_the_zone_its_time_means(people):
    assert "When (America/Los_Angeles)" in people["lola"].get("/").content.decode()
    assert "When (Europe/Paris)" in people["pierre"].get("/notes/new/?kind=event").content.decode()
    assert "When (UTC)" in people["uma"].get("/").content.decode()


def test_a_time_the_clocks_skip_is_refused_with_a_reason(people):
    """2:30 on the night Los Angeles springs forward does not exist there."""
    response = people["lola"].post(
        "/notes/new/",
        {"kind": "event", "audience": "public", "event_name": "Ghost hour", "event_start": "2031-03-09T02:30"},
    )
    assert response.status_code == 400
    assert "couldn’t be interpreted in time zone America/Los_Angeles" in response.content.decode()
    assert not Note.objects.exists()


def test_changing_ones_zone_changes_the_cached_pages_at_once(people):
    lola = User.objects.get(username="lola")
    note = services.note_create(
        author=lola,
        kind="event",
        audience="public",
        event_name="Dinner",
        event_start=dt.datetime(2030, 12, 6, 3, 30, tzinfo=dt.UTC),
    )
    client = people["lola"]
    for _ in range(2):  # the second read is the cached page
        assert "19:30 PST (America/Los_Angeles)" in client.get("/").content.decode()
    account_services.profile_update(lola, display_name="", bio="", location="", website="", time_zone=PARIS)
    home = client.get("/").content.decode()
    assert "04:30 CET (Europe/Paris)" in home and "PST" not in home
    assert event_when(client.get(f"/notes/{note.pk}/").content.decode(), note.pk)[1].endswith("CET (Europe/Paris)")


def test_the_api_gives_event_times_in_utc_whoever_asks(people):
    lola = User.objects.get(username="lola")
    note = services.note_create(
        author=lola,
        kind="event",
        audience="public",
        event_name="Dinner",
        event_start=dt.datetime(2030, 12, 6, 3, 30, tzinfo=dt.UTC),
    )
    # Lola's session activates Los Angeles for the request; the API still speaks UTC.
    status = people["lola"].get(f"/api/v1/statuses/{note.pk}").json()
    assert status["pownce"]["event"]["start"] == "2030-12-06T03:30:00.000Z"
    assert "03:30 UTC" in status["card"]["description"]
    # And a moment in another zone (as a form gives it) is written as the same UTC instant.
    typed = dt.datetime(2030, 12, 5, 19, 30, tzinfo=zoneinfo.ZoneInfo(LOS_ANGELES))
    assert mapping.iso(typed) == "2030-12-06T03:30:00.000Z"
