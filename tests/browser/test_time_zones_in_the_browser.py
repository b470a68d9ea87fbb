"""An event across time zones in a real browser, through HAProxy and both app servers: lola signs
up from a browser in Los Angeles and pierre from one in Paris (each browser names its zone, and
sign-up keeps it); pierre becomes lola's fan; lola sends an evening event, typed as 19:30 her
time. She sees 19:30 PST, pierre 04:30 CET the next morning — on the note and in his "Upcoming
events" — someone signed out 03:30 UTC, and the .ics both download holds 03:30Z. pierre moves
to Tokyo in settings and sees 12:30 JST. Screenshots (desktop and phone) under
``test-artifacts/``."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tests.browser.conftest import PHONE

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PASSWORD = "a long time zone password 42"
LOS_ANGELES, PARIS = "America/Los_Angeles", "Europe/Paris"


def sign_up(page, username: str) -> None:
    page.goto("/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/settings/")


def shoot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)


def download_calendar(page, link) -> str:
    with page.expect_download() as ics:
        link.click()
    return open(ics.value.path(), encoding="utf-8", newline="").read()  # keep the CRLFs


def test_an_evening_event_in_los_angeles_is_morning_in_paris_in_the_browser(
    web_stack, empty_stores, new_person, artifacts
):
    lola = new_person(timezone_id=LOS_ANGELES)
    pierre = new_person(timezone_id=PARIS)
    visitor = new_person()

    # --- each browser's zone becomes its person's zone at sign-up ---------------------------
    sign_up(lola, "lola")
    assert lola.locator("#id_time_zone").input_value() == LOS_ANGELES
    sign_up(pierre, "pierre")
    assert pierre.locator("#id_time_zone").input_value() == PARIS
    pierre.goto("/lola/")
    pierre.get_by_role("button", name="+ Add as friend").click()
    pierre.wait_for_url("**/lola/")

    # --- lola sends an event at 19:30 her time, in December (Pacific Standard Time) --------
    year = dt.date.today().year + 1
    typed = dt.datetime(year, 12, 5, 19, 30, tzinfo=zoneinfo.ZoneInfo(LOS_ANGELES))
    instant = typed.astimezone(dt.UTC)
    in_paris = typed.astimezone(zoneinfo.ZoneInfo(PARIS))
    assert (instant.day, instant.hour, instant.minute) == (6, 3, 30)

    lola.goto("/")
    lola.locator("label.kind-tab.kind-event").click()
    assert lola.locator("label[for=id_event_start]").inner_text() == f"When ({LOS_ANGELES})"
    lola.fill("#id_event_name", "Sunset swing")
    lola.fill("#id_event_start", f"{year}-12-05T19:30")
    lola.fill("#id_event_place", "Venice Beach boardwalk")
    lola.get_by_role("button", name="Send it").click()
    # The note form stays on home and puts the new card at the top of the stream.
    sent = lola.locator(".stream > article.note-new").first
    sent.wait_for()
    note_id = int(sent.get_attribute("id").removeprefix("note-"))
    lola.goto(f"/notes/{note_id}/")
    card = lola.locator(f"#note-{note_id}")
    lola_sees = f"{typed:%a} 5 Dec {year}, 19:30 PST ({LOS_ANGELES})"
    assert card.locator(".event-when").inner_text() == lola_sees
    assert card.locator(".event-when time").get_attribute("datetime") == f"{year}-12-05T19:30:00-08:00"
    shoot(lola, artifacts / "time-zone-event-los-angeles.png")

    # --- the .ics holds the true instant, whoever downloads it ----------------------------
    calendar = download_calendar(lola, card.get_by_role("link", name="Add to calendar"))
    assert f"DTSTART:{instant:%Y%m%dT%H%M%S}Z\r\n" in calendar
    assert f"DTSTART:{year}1206T033000Z\r\n" in calendar

    # --- pierre, in Paris, sees the next morning: on home's upcoming events and the note --
    pierre_sees = f"{in_paris:%a} 6 Dec {year}, 04:30 CET ({PARIS})"
    pierre.goto("/")
    upcoming = pierre.locator(".upcoming-events")
    assert upcoming.locator(".upcoming-name").all_inner_texts() == ["Sunset swing"]
    assert upcoming.locator(".upcoming-when").inner_text() == pierre_sees
    assert pierre.locator(f"#note-{note_id} .event-when").inner_text() == pierre_sees
    shoot(pierre, artifacts / "time-zone-upcoming-paris.png")
    pierre.set_viewport_size(PHONE)
    pierre.goto("/")
    assert pierre.locator(".upcoming-events .upcoming-when").inner_text() == pierre_sees
    shoot(pierre, artifacts / "time-zone-upcoming-paris-phone.png")
    pierre.goto(f"/notes/{note_id}/")
    assert pierre.locator(f"#note-{note_id} .event-when").inner_text() == pierre_sees
    shoot(pierre, artifacts / "time-zone-event-paris-phone.png")
    calendar = download_calendar(pierre, pierre.locator(f"#note-{note_id}").get_by_role("link", name="Add to calendar"))
    assert f"DTSTART:{year}1206T033000Z\r\n" in calendar

    # --- someone signed out sees UTC ---------------------------------------------------------
    visitor.goto(f"/notes/{note_id}/")
    assert visitor.locator(f"#note-{note_id} .event-when").inner_text() == f"{instant:%a} 6 Dec {year}, 03:30 UTC"

    # --- pierre moves to Tokyo in settings: the same event at 12:30 JST ----------------------
    pierre.goto("/settings/")
    pierre.select_option("#id_time_zone", "Asia/Tokyo")
    pierre.get_by_role("button", name="Save profile").click()
    pierre.wait_for_url("**/settings/")
    pierre.goto(f"/notes/{note_id}/")
    assert pierre.locator(f"#note-{note_id} .event-when").inner_text().endswith("12:30 JST (Asia/Tokyo)")
