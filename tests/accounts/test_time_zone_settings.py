"""Each person's time zone: guessed by the browser at sign-up (UTC without JavaScript or for a
name this server does not know) and chosen in settings from the zone database's names."""

import re
import zoneinfo

import pytest

from accounts import timezones
from accounts.models import User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_up(client, username, **extra):
    return client.post("/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD, **extra})


def profile(**fields):
    return {"display_name": "", "bio": "", "location": "", "website": "", **fields}


def test_the_sign_up_page_asks_the_browser_for_its_zone(client):
    page = client.get("/signup/").content.decode()
    assert '<input type="hidden" name="time_zone" data-guess="zone"' in page
    assert "/static/js/timezone.js" in page


def test_sign_up_keeps_the_zone_the_browser_named(client):
    assert sign_up(client, "lola", time_zone="America/Los_Angeles").status_code == 302
    assert User.objects.get(username="lola").time_zone == "America/Los_Angeles"


@pytest.mark.parametrize(
    "guess", [None, "", "Mars/Olympus_Mons", "../../etc/passwd", "america/los_angeles", "localtime"]
)
def test_sign_up_without_a_known_zone_starts_in_utc(client, guess):
    extra = {} if guess is None else {"time_zone": guess}
    assert sign_up(client, "newcomer", **extra).status_code == 302
    assert User.objects.get(username="newcomer").time_zone == "UTC"


def test_settings_offer_every_zone_sorted_with_ones_own_chosen(make_user, as_user):
    lola = make_user("lola", time_zone="America/Los_Angeles")
    page = as_user(lola).get("/settings/").content.decode()
    select = page[page.index('<select name="time_zone"') : page.index("</select>")]
    offered = re.findall(r'<option value="([^"]+)"', select)
    assert offered == sorted(offered) and len(offered) > 300
    assert set(offered) <= zoneinfo.available_timezones() and "Europe/Paris" in offered
    assert '<option value="America/Los_Angeles" selected>' in page


def test_settings_change_the_zone(make_user, as_user):
    lola = make_user("lola", time_zone="America/Los_Angeles")
    response = as_user(lola).post("/settings/", profile(time_zone="Europe/Paris"))
    assert response.status_code == 302
    assert User.objects.get(pk=lola.pk).time_zone == "Europe/Paris"


def test_settings_refuse_a_zone_not_on_the_list(make_user, as_user):
    lola = make_user("lola", time_zone="America/Los_Angeles")
    response = as_user(lola).post("/settings/", profile(display_name="Lola", time_zone="Nowhere/Else"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    lola.refresh_from_db()
    assert (lola.time_zone, lola.display_name) == ("America/Los_Angeles", "")


def test_settings_sent_without_a_zone_keep_it(make_user, as_user):
    lola = make_user("lola", time_zone="America/Los_Angeles")
    assert as_user(lola).post("/settings/", profile(display_name="Lola")).status_code == 302
    lola.refresh_from_db()
    assert (lola.time_zone, lola.display_name) == ("America/Los_Angeles", "Lola")


def test_a_stored_zone_the_database_no_longer_knows_reads_as_utc():
    assert timezones.zone("Gone/Away") == zoneinfo.ZoneInfo("UTC")
    assert timezones.zone("Asia/Tokyo") == zoneinfo.ZoneInfo("Asia/Tokyo")
