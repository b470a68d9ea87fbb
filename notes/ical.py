"""Event notes as iCalendar (RFC 5545) files a calendar program can import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notes.models import Note

# Pownce events have a start only; calendars want an end, so an event lasts an hour.
EVENT_LENGTH = timedelta(hours=1)
LINE_OCTETS = 75


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and newlines (RFC 5545 §3.3.11)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Control characters other than tab are not allowed in a value at all.
    value = "".join(ch for ch in value if ch >= " " or ch in "\t\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never splitting a character."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        # Continuation lines start with a space, which counts towards their 75 octets.
        if size + width > LINE_OCTETS:
            pieces.append(current)
            current, size = " ", 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n".join(pieces)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event_calendar(note: Note, *, note_url: str, host: str) -> str:
    """The VCALENDAR of an event note; ``note_url`` is the absolute address of the note page."""
    description = note.body.strip()
    description = f"{description}\n\n{note_url}" if description else note_url
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Pownce//Notes//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:note-{note.pk}@{host}",
        f"DTSTAMP:{_utc(note.created)}",
        f"DTSTART:{_utc(note.event_start)}",
        f"DTEND:{_utc(note.event_start + EVENT_LENGTH)}",
        f"SUMMARY:{escape_text(note.event_name)}",
    ]
    if note.event_place:
        lines.append(f"LOCATION:{escape_text(note.event_place)}")
    lines += [
        f"DESCRIPTION:{escape_text(description)}",
        f"URL:{note_url}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
