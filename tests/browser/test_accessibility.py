"""Accessibility in a real browser, through HAProxy: axe-core (the npm package, installed into
``var/node/`` by ``deploy/install-axe.sh``, no network needed) is injected into every page
people use, on a desktop and a phone viewport, and the test fails on any "serious" or
"critical" violation — colour contrast included (axe's ``color-contrast`` rule is on). A second
test looks at what axe cannot judge: the text fields' focus ring, the active stream filter on
a phone, thumbnails that keep their place while they load, the upload progress bar and home's
second column. Screenshots of every page go to ``test-artifacts/a11y-*.png``, and everything
axe found (minor and moderate too) to ``test-artifacts/axe-report.json``."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts import services as accounts_services
from accounts.models import User
from notes import moderation
from notes import services as notes_services
from notes.models import Note
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.signing_in import log_in
from tests.stack import ROOT, wait_for_replica

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

AXE = ROOT / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
PASSWORD = "a long accessible password 42"
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@dataclass(frozen=True)
class Page:
    """A page the check visits: its name (for screenshots), its path (``{note}``, ``{private}``
    are filled in), who looks at it, and the status it answers with."""

    name: str
    path: str
    who: str = "ann"
    status: int = 200

    def url(self, ids: dict[str, int]) -> str:
        return self.path.format(**ids)


# Every page the browser tests visit. "visitor" is signed out; "mona" runs the admin.
PAGES = [
    Page("home", "/"),
    Page("welcome", "/", who="visitor"),
    Page("public", "/public/", who="visitor"),
    Page("note", "/notes/{note}/"),
    Page("profile", "/bob/"),
    Page("settings", "/settings/"),
    Page("sets", "/sets/"),
    Page("friend-requests", "/friends/requests/"),
    Page("search", "/search/?q=bob"),
    Page("notifications", "/notifications/"),
    Page("log-in", "/login/", who="visitor"),
    Page("sign-up", "/signup/", who="visitor"),
    Page("404", "/notes/{private}/", who="cat", status=404),
    Page("admin-report-queue", "/admin/notes/report/", who="mona"),
]


def picture_png() -> bytes:
    image = Image.new("RGB", (640, 400), (120, 180, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse((470, 40, 560, 130), fill=(255, 214, 90))
    draw.polygon([(0, 400), (200, 170), (380, 400)], fill=(70, 120, 80))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def neighbourhood(web_stack, empty_stores, uploads_removed) -> dict[str, int]:
    """People and notes of every kind and audience, made before the browser starts (the ORM
    refuses to run next to Playwright's loop): ann and bob are friends with a set, dan waits
    for ann's answer, cat is an outsider, mona runs the admin and has a report in her queue."""
    people = {}
    for username, name in (("ann", "Ann Archer"), ("bob", "Bob Baker"), ("cat", "Cat Cole"), ("dan", "Dan Dale")):
        people[username] = User.objects.create_user(
            username, f"{username}@example.com", PASSWORD, display_name=name, bio=f"{name} likes bridges."
        )
    User.objects.create_superuser("mona", "mona@example.com", PASSWORD)
    ann, bob, cat, dan = (people[name] for name in ("ann", "bob", "cat", "dan"))
    accounts_services.friend_add(ann, bob)
    accounts_services.friend_add(bob, ann)
    accounts_services.friend_add(dan, ann)  # a friend request ann has not answered
    accounts_services.friend_set_create(ann, name="Bakers", member_ids=[bob.pk])

    def send(author, **fields):
        return notes_services.note_create(author=author, **fields).pk

    message = send(ann, kind="message", audience="public", body="Morning, Pownce! Coffee on the river.")
    send(ann, kind="link", audience="friends", url="https://example.com/bridges", body="Bridge photos.")
    send(
        ann,
        kind="event",
        audience="set",
        friend_set=ann.friend_sets.get(),
        event_name="Bridge walk",
        event_place="South end",
        event_start=timezone.now() + timedelta(days=30),
    )
    picture = send(
        bob,
        kind="file",
        audience="public",
        upload=SimpleUploadedFile("field.png", picture_png(), content_type="image/png"),
        body="The field behind the bakery.",
    )
    private = send(ann, kind="message", audience="friend", recipient=bob, body="The party is on Friday.")
    notes_services.reply_create(author=bob, note_id=message, body="See you there!")
    notes_services.star_add(user=ann, note_id=picture)
    moderation.report_create(reporter=cat, note_id=picture, reason="Not a field, it is a meadow.")
    assert Note.objects.get(pk=picture).thumbnail  # the task ran: cards show the thumbnail
    wait_for_replica()
    return {"note": message, "picture": picture, "private": private}


def people_pages(new_person, **options) -> dict:
    pages = {}
    for who in {page.who for page in PAGES}:
        pages[who] = new_person(**options)
        if who != "visitor":
            log_in(pages[who], who, PASSWORD)
    return pages


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def described(found: list[tuple[str, str, dict]]) -> str:
    lines = []
    for name, viewport, violation in found:
        lines.append(f"{name} ({viewport}): {violation['impact']} {violation['id']}: {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    at {' '.join(node['target'])}: {node['html'][:160]}")
            for summary in node.get("failureSummary", "").splitlines():
                lines.append(f"      {summary.strip()}")
    return "\n".join(lines)


def test_axe_finds_no_serious_or_critical_violation_on_any_page(neighbourhood, new_person, artifacts):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run deploy/install-axe.sh (make test does)")
    pages = people_pages(new_person, bypass_csp=True)  # the page's CSP would refuse axe's script
    checked, failing, report = [], [], []
    for viewport, size in VIEWPORTS.items():
        for spec in PAGES:
            page = pages[spec.who]
            page.set_viewport_size(size)
            response = page.goto(spec.url(neighbourhood))
            assert response.status == spec.status, f"{spec.name}: {response.status} at {page.url}"
            violations = axe_violations(page)
            page.screenshot(path=str(artifacts / f"a11y-{spec.name}-{viewport}.png"), full_page=True)
            checked.append(f"{spec.name} ({viewport})")
            report += [{"page": spec.name, "viewport": viewport, **violation} for violation in violations]
            failing += [(spec.name, viewport, v) for v in violations if v["impact"] in FAILING_IMPACTS]
    (artifacts / "axe-report.json").write_text(json.dumps(report, indent=1))
    print(f"axe checked {len(checked)} pages: {', '.join(checked)}")
    assert not failing, f"axe found serious or critical violations:\n{described(failing)}"


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two opaque ``rgb(r, g, b)`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def opaque(colour: str) -> bool:
    return colour.startswith("rgb(") or colour.endswith(", 1)")


def test_focus_ring_active_filter_thumbnails_and_columns_are_visible(neighbourhood, new_person, artifacts):
    ann = new_person()
    log_in(ann, "ann", PASSWORD)

    # --- a text field's focus ring: solid, and 3:1 against the card around it ---------------
    ann.goto("/")
    ann.focus("#id_body")
    ring = ann.evaluate(
        """() => { const field = document.activeElement, style = getComputedStyle(field);
                   return {colour: style.outlineColor, width: parseFloat(style.outlineWidth), style: style.outlineStyle,
                           card: getComputedStyle(field.closest('.card')).backgroundColor}; }"""
    )
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert opaque(ring["colour"]), ring
    assert contrast(ring["colour"], ring["card"]) >= 3, ring

    # --- home: a second column on a desktop, one column on a phone --------------------------
    aside = ann.locator("aside.home-aside")
    main = ann.locator("main")
    assert "Ann Archer" in aside.inner_text()
    assert "Dan Dale" in aside.locator(".aside-requests").inner_text()
    side, stream = aside.bounding_box(), main.bounding_box()
    assert side["x"] >= stream["x"] + stream["width"], (side, stream)  # beside the stream
    ann.screenshot(path=str(artifacts / "home-two-columns.png"), full_page=True)
    ann.set_viewport_size(PHONE)
    side, stream = aside.bounding_box(), main.bounding_box()
    assert side["y"] >= stream["y"] + stream["height"], (side, stream)  # below it
    assert ann.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # --- the active stream filter is in sight on a phone, even the last one -----------------
    ann.goto("/?show=event")
    active = ann.locator(".stream-filters a[aria-current=page]")
    assert active.inner_text() == "Events"
    box = active.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
    centre = ann.evaluate(
        f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2})?.textContent"
    )
    assert centre == "Events"
    ann.screenshot(path=str(artifacts / "home-filter-phone.png"))

    # --- the upload progress bar is styled: a visible track and a filled part ---------------
    ann.set_viewport_size(DESKTOP)
    ann.goto("/")
    ann.locator("label.kind-tab.kind-file").click()
    ann.evaluate(
        """() => { const box = document.querySelector('.upload-progress'); box.hidden = false;
                   box.querySelector('progress').value = 40;
                   box.querySelector('.upload-progress-text').textContent = '40% · 2.4 MB of 6.0 MB'; }"""
    )
    bar = ann.locator(".upload-progress progress")
    assert bar.bounding_box()["height"] >= 8 and bar.bounding_box()["width"] >= 200
    assert ann.evaluate("getComputedStyle(document.querySelector('.upload-progress progress')).appearance") == "none"
    ann.locator(".composer-card").screenshot(path=str(artifacts / "upload-progress.png"))

    # --- a thumbnail keeps its place while it loads: the card does not jump -----------------
    held = []
    ann.route("**/thumbnail.jpg", lambda route: held.append(route))
    ann.goto(f"/notes/{neighbourhood['picture']}/", wait_until="domcontentloaded")
    thumb = ann.locator(f"#note-{neighbourhood['picture']} .note-thumb img")
    width, height = int(thumb.get_attribute("width")), int(thumb.get_attribute("height"))
    assert (width, height) == (480, 300)  # the 640×400 picture, fitted into the card's box
    ann.wait_for_function("() => document.querySelector('.note-thumb img') !== null")
    before = thumb.bounding_box()
    assert held, "the thumbnail was not requested"
    for route in held:
        route.continue_()
    ann.wait_for_function("() => document.querySelector('.note-thumb img').complete")
    after = thumb.bounding_box()
    # (The picture's 1px border sits outside the box its aspect ratio is kept in: at most 1px more.)
    assert before == after and after["width"] == width and abs(after["height"] - height) <= 1, (before, after)
