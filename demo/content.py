"""Words and files for demo notes (used by ``manage.py seed_demo``)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from notes.models import Note, stored_file_path, thumbnail_path

FIRST_NAMES = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Elif",
    "Finn",
    "Gus",
    "Hana",
    "Iris",
    "Jon",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sami",
    "Tess",
    "Uma",
    "Vic",
    "Wren",
    "Xavi",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Abbott",
    "Baker",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Meyer",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
]
HANDLES = ["leah", "kevinr", "daniel", "mike", "ariel", "shawn", "tara", "jon", "rachel", "sam", "mia", "alex"]
BIOS = [
    "Music, photos and too much coffee.",
    "Building things on the web since the dial-up days.",
    "Cyclist. Cook. Occasional DJ.",
    "I share links so you don't have to find them.",
    "",
    "Designer in search of the perfect grid.",
    "Weekend hiker, weekday debugger.",
]
PLACES = ["San Francisco", "Brooklyn", "Lisbon", "Berlin", "Tokyo", "Austin", "Toronto", "Melbourne", ""]
SET_NAMES = ["Close friends", "Family", "Work", "Band", "Book club", "Climbing crew"]
MESSAGES = [
    "Anyone up for lunch today?",
    "Just finished the new album — on repeat all afternoon.",
    "The fog rolled in right on cue. Classic.",
    "Moving day! If you have boxes, I have pizza.",
    "Who else is staying up for the launch tonight?",
    "Best taco in town: still undecided. Taking suggestions.",
    "Finally fixed that bug. It was a missing comma. It is always a missing comma.",
    "Reading on the train, missed my stop, worth it.",
    "Made bread from scratch. It looks like a rock and tastes great.",
    "Thinking about getting a record player. Convince me either way.",
]
LINKS = [
    ("https://www.djangoproject.com/", "The framework we build on."),
    ("https://en.wikipedia.org/wiki/Pownce", "Bit of history."),
    ("https://www.python.org/", ""),
    ("https://archive.org/", "Lost an afternoon in here again."),
    ("https://www.openstreetmap.org/", "Maps made by people."),
    ("https://example.com/playlist?id=42&share=1", "This playlist is the whole mood."),
]
EVENTS = [
    ("Release party", "The Rooftop, 5th floor"),
    ("Board game night", "Ada's place"),
    ("Saturday hike", "Trailhead parking lot"),
    ("Open mic", "Café Lumen, Main St."),
    ("Hack day", "Community hall; bring a laptop"),
]
REPLIES = [
    "Count me in!",
    "Ha, so true.",
    "Love this.",
    "Where was this?",
    "Sending this to everyone I know.",
    "Great find, thanks!",
    "See you there.",
    "Wait, really?",
    "Yes please.",
    "This made my day.",
]


def username(number: int) -> str:
    base = HANDLES[number % len(HANDLES)]
    return base if number < len(HANDLES) else f"{base}{number}"


def person_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def reply(rng: random.Random) -> str:
    return rng.choice(REPLIES)


@dataclass
class DemoFile:
    name: str
    stored: str
    size: int
    content_type: str
    thumbnail: str = ""


def _image(color: tuple[int, int, int], size=(640, 420)) -> bytes:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    for band in range(0, size[1], 28):
        shade = tuple(min(255, c + band // 3) for c in color)
        draw.rectangle([0, band, size[0], band + 14], fill=shade)
    draw.ellipse([size[0] - 200, 40, size[0] - 60, 180], fill=(255, 214, 102))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _store(data: bytes, path: str) -> str:
    return default_storage.save(path, ContentFile(data))


def demo_files() -> list[DemoFile]:
    """A few files written once per run and shared by all demo file notes, as forwards share."""
    files = []
    for name, color in (("sunset.png", (235, 110, 70)), ("lake.png", (60, 120, 190))):
        data = _image(color)
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((480, 480))
            thumb = io.BytesIO()
            image.save(thumb, "JPEG", quality=85)
        files.append(
            DemoFile(
                name=name,
                stored=_store(data, stored_file_path(None, name)),
                size=len(data),
                content_type="image/png",
                thumbnail=_store(thumb.getvalue(), thumbnail_path(None, name)),
            )
        )
    text = b"Pownce demo: meeting notes\n\n- ship it\n- celebrate\n"
    files.append(DemoFile("meeting-notes.txt", _store(text, stored_file_path(None, "x")), len(text), "text/plain"))
    return files


def fill(note: Note, rng: random.Random, files: list[DemoFile]) -> None:
    """Give a demo note content fitting its kind."""
    if note.kind == Note.Kind.LINK:
        note.url, note.body = rng.choice(LINKS)
    elif note.kind == Note.Kind.FILE:
        demo = rng.choice(files)
        note.file, note.file_name, note.file_size = demo.stored, demo.name, demo.size
        note.file_type, note.thumbnail = demo.content_type, demo.thumbnail
        note.body = rng.choice(["", "Photos from the weekend.", "Here you go!", "As promised."])
    elif note.kind == Note.Kind.EVENT:
        note.event_name, note.event_place = rng.choice(EVENTS)
        note.event_start = (note.created + timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 12))).replace(
            minute=0, second=0, microsecond=0
        )
        note.body = rng.choice(["", "Bring friends!", "RSVP by replying here."])
    else:
        note.body = rng.choice(MESSAGES)
