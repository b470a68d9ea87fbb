"""Notes and replies in the admin: read-only, searchable, with the moderation actions.

Content is never edited here: a note is hidden, unhidden or deleted, its author suspended. The
big tables skip the full ``COUNT(*)`` of the change list.

What staff see of people's notes (the README's "Security" section): the change lists of notes
and replies hold public notes and notes someone reported (and the replies under them); any
other note or reply is listed only when searched for by its exact id (or, for replies, its
note's id), for an investigation, and its page opens by id. Private words are not browsed or
searched by text."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.html import format_html

from notes.admin.moderating import Moderating
from notes.models import Note, NoteCounts, Reply, Report


def exact_id(search_term: str) -> int | None:
    """The id a search asks for, when the whole search is one (ASCII digits only)."""
    term = search_term.strip()
    return int(term) if term.isascii() and term.isdigit() and 0 < int(term) < 2**63 else None


def moderators_see() -> Q:
    """Notes staff may browse and search by text: public ones and reported ones."""
    return Q(audience=Note.Audience.PUBLIC) | Q(Exists(Report.objects.filter(note=OuterRef("pk"))))


def note_text(note: Note, length: int = 80) -> str:
    """The note's content in one line: its title (link, file or event name, or message)."""
    text = note.title
    return text if len(text) <= length else text[: length - 1] + "…"


class ReportInline(admin.TabularInline):
    model = Report
    fields = ("reporter", "reason", "created", "status", "resolved_by", "resolved_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "reports on this note"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status")
    def status(self, report: Report) -> str:
        return report.status


@admin.register(Note)
class NoteAdmin(Moderating):
    list_display = ("id", "author", "kind", "audience", "text", "is_hidden", "created")
    list_display_links = ("id", "text")
    list_filter = ("is_hidden", "kind", "audience", "author__is_suspended", "created")
    list_select_related = ("author",)
    search_fields = ("=id", "author__username", "body", "url", "event_name", "file_name")
    show_full_result_count = False
    fields = (
        "author",
        "kind",
        "audience",
        "friend_set",
        "recipient",
        "body",
        "url",
        "file_name",
        "file_size",
        "event_name",
        "event_place",
        "event_start",
        "forwarded_from",
        "created",
        "is_hidden",
        "counts",
        "page",
    )
    readonly_fields = fields
    inlines = [ReportInline]
    actions = ["hide_notes", "unhide_notes", "suspend_authors", "unsuspend_authors"]
    moderation_buttons = (
        ("hide_notes", "Hide this note", "The note"),
        ("unhide_notes", "Unhide this note", "The note"),
        ("suspend_authors", "Suspend its author", "Its author"),
        ("unsuspend_authors", "Unsuspend its author", "Its author"),
    )

    def button_applies(self, note: Note, name: str) -> bool:
        return {
            "hide_notes": not note.is_hidden,
            "unhide_notes": note.is_hidden,
            "suspend_authors": not note.author.is_suspended,
            "unsuspend_authors": note.author.is_suspended,
        }[name]

    def has_add_permission(self, request) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        # The change list (every search included) comes through here; change pages do not.
        # An action posts the ids it acts on (found by id, say): those are not narrowed.
        if request.method == "POST":
            return super().get_search_results(request, queryset, search_term)
        note_id = exact_id(search_term)
        if note_id is not None:
            return queryset.filter(pk=note_id), False
        return super().get_search_results(request, queryset.filter(moderators_see()), search_term)

    @admin.display(description="text")
    def text(self, note: Note) -> str:
        return note_text(note)

    @admin.display(description="replies and stars")
    def counts(self, note: Note) -> str:
        row = NoteCounts.objects.filter(note=note).first()
        return f"{row.replies} replies, {row.stars} stars" if row else "not counted yet (run reconcile_counts)"

    @admin.display(description="on the site")
    def page(self, note: Note) -> str:
        url = reverse("note_detail", args=[note.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.action(description="Hide the selected notes", permissions=["hide"])
    def hide_notes(self, request, queryset) -> None:
        notes = list(queryset)
        self.done(request, "Notes hidden", self.hide(request, notes, hidden=True))
        if self.has_resolve_permission(request):  # their reports are answered
            self.resolve(request, notes=notes, why=": note hidden")

    @admin.action(description="Unhide the selected notes", permissions=["hide"])
    def unhide_notes(self, request, queryset) -> None:
        self.done(request, "Notes unhidden", self.hide(request, queryset, hidden=False))

    @admin.action(description="Suspend the authors of the selected notes", permissions=["suspend"])
    def suspend_authors(self, request, queryset) -> None:
        notes = list(queryset.select_related("author"))
        authors = {note.author_id: note.author for note in notes}
        self.done(request, "People suspended", self.suspend(request, authors.values(), suspended=True))
        if self.has_resolve_permission(request):
            self.resolve(request, notes=notes, why=": author suspended")

    @admin.action(description="Unsuspend the authors of the selected notes", permissions=["suspend"])
    def unsuspend_authors(self, request, queryset) -> None:
        authors = {note.author_id: note.author for note in queryset.select_related("author")}
        self.done(request, "People unsuspended", self.suspend(request, authors.values(), suspended=False))


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ("id", "note", "author", "text", "created")
    list_filter = ("author__is_suspended", "created")
    list_select_related = ("author",)
    search_fields = ("=id", "=note__id", "author__username", "body")
    show_full_result_count = False
    fields = ("note", "author", "note_author", "body", "created")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        if request.method == "POST":
            return super().get_search_results(request, queryset, search_term)
        wanted = exact_id(search_term)
        if wanted is not None:
            return queryset.filter(Q(pk=wanted) | Q(note_id=wanted)), False
        visible_notes = Note.objects.filter(moderators_see()).values("pk")
        return super().get_search_results(request, queryset.filter(note__in=visible_notes), search_term)

    @admin.display(description="text")
    def text(self, reply: Reply) -> str:
        return reply.body if len(reply.body) <= 80 else reply.body[:79] + "…"
