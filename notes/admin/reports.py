"""The moderation queue: open reports, oldest first, each with its note in context."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from notes.admin.moderating import Moderating
from notes.admin.notes import note_text
from notes.models import Report


class StatusFilter(admin.SimpleListFilter):
    """Open reports unless asked otherwise: the change list is the queue."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist):
        for value, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "open":
            return queryset.filter(is_open=True)
        if value == "resolved":
            return queryset.filter(is_open__isnull=True)
        return queryset


@admin.register(Report)
class ReportAdmin(Moderating):
    list_display = ("id", "note_summary", "audience", "reporter", "reason", "reports_on_note", "status", "created")
    list_display_links = ("id", "reason")
    list_filter = (StatusFilter, "note__is_hidden", "note__author__is_suspended", "created")
    search_fields = ("=id", "=note__id", "reason", "reporter__username", "note__author__username", "note__body")
    ordering = ("id",)
    fields = ("note_in_context", "reporter", "reason", "created", "status", "resolved_by", "resolved_at")
    readonly_fields = fields
    actions = [
        "resolve_reports",
        "hide_and_resolve",
        "unhide_notes",
        "delete_and_resolve",
        "suspend_and_resolve",
        "unsuspend_authors",
    ]
    moderation_buttons = (
        ("hide_and_resolve", "Hide the note and resolve", "The note"),
        ("unhide_notes", "Unhide the note", "The note"),
        ("delete_and_resolve", "Delete the note and resolve", "The note"),
        ("suspend_and_resolve", "Suspend the author and resolve", "Its author"),
        ("unsuspend_authors", "Unsuspend the author", "Its author"),
        ("resolve_reports", "Resolve: nothing to do", "This report"),
    )

    def button_applies(self, report: Report, name: str) -> bool:
        note = report.note
        if name == "resolve_reports":
            return bool(report.is_open)
        if note is None:  # deleted: nothing left to hide or suspend from here
            return False
        return {
            "hide_and_resolve": not note.is_hidden,
            "unhide_notes": note.is_hidden,
            "delete_and_resolve": True,
            "suspend_and_resolve": not note.author.is_suspended,
            "unsuspend_authors": note.author.is_suspended,
        }[name]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A report is the record of what a reader asked and what a moderator did: it is resolved,
        # never deleted (a deleted note's reports stay too). So its page has no "Delete" (the
        # report) for anyone, and certainly none beside "Delete the note and resolve".
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("note", "note__author", "reporter", "resolved_by")
        return queryset.annotate(note_report_count=Count("note__reports"))

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # The queue is a wide table next to its filters: without the admin's navigation sidebar
        # the note and the reason read as lines, not a word per line, on a 1280-pixel screen.
        return super().changelist_view(request, {**(extra_context or {}), "is_nav_sidebar_enabled": False})

    # --- Columns and the note in context ------------------------------------------------------

    @admin.display(description="note")
    def note_summary(self, report: Report) -> str:
        note = report.note
        if note is None:
            return "(deleted)"
        hidden = " [hidden]" if note.is_hidden else ""
        suspended = " [suspended]" if note.author.is_suspended else ""
        return f"{note.author.username}{suspended}: {note_text(note, 60)}{hidden}"

    @admin.display(description="audience")
    def audience(self, report: Report) -> str:
        return report.note.get_audience_display() if report.note else "—"

    @admin.display(description="reports", ordering="note_report_count")
    def reports_on_note(self, report: Report) -> int:
        return report.note_report_count

    @admin.display(description="status")
    def status(self, report: Report) -> str:
        return report.status

    @admin.display(description="reported note")
    def note_in_context(self, report: Report) -> str:
        note = report.note
        if note is None:
            return "The note has been deleted."
        author = note.author
        rows = [
            (
                "Author",
                format_html(
                    '<a href="{}">{}</a>{}',
                    reverse("admin:accounts_user_change", args=[author.pk]),
                    author.username,
                    " (suspended)" if author.is_suspended else "",
                ),
            ),
            ("Audience", note.get_audience_display()),
            ("Kind", note.get_kind_display()),
            ("Text", note.body or note_text(note, 500)),
            ("Sent", note.created.strftime("%Y-%m-%d %H:%M UTC")),
            ("State", "hidden" if note.is_hidden else "visible"),
            (
                "Links",
                format_html(
                    '<a href="{}">the note on the site</a> · <a href="{}">the note in the admin</a>',
                    reverse("note_detail", args=[note.pk]),
                    reverse("admin:notes_note_change", args=[note.pk]),
                ),
            ),
            ("Earlier reports", self._earlier_reports(report)),
        ]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="reported-note">{}</table>', body)

    def _earlier_reports(self, report: Report) -> str:
        earlier = Report.objects.filter(note_id=report.note_id, pk__lt=report.pk).select_related("reporter")
        items = [
            (
                reverse("admin:notes_report_change", args=[other.pk]),
                other.created.strftime("%Y-%m-%d"),
                other.reporter.username,
                other.status,
                other.reason,
            )
            for other in earlier.order_by("-pk")[:20]
        ]
        if not items:
            return "none"
        return format_html("<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> {} ({}): {}</li>', items))

    # --- Actions ------------------------------------------------------------------------------

    @staticmethod
    def _notes(queryset) -> list:
        return list({report.note_id: report.note for report in queryset if report.note is not None}.values())

    @admin.action(description="Resolve the selected reports (nothing to do)", permissions=["resolve"])
    def resolve_reports(self, request, queryset) -> None:
        self.done(request, "Reports resolved", self.resolve(request, reports=queryset))

    @admin.action(description="Hide the reported notes and resolve", permissions=["hide", "resolve"])
    def hide_and_resolve(self, request, queryset) -> None:
        reports = list(queryset)
        notes = self._notes(reports)
        hidden = self.hide(request, notes, hidden=True, why=" (reported)")
        self.resolve(request, reports=reports, notes=notes, why=": note hidden")
        self.done(request, "Notes hidden", hidden)

    @admin.action(description="Unhide the reported notes", permissions=["hide"])
    def unhide_notes(self, request, queryset) -> None:
        self.done(request, "Notes unhidden", self.hide(request, self._notes(queryset), hidden=False))

    @admin.action(description="Delete the reported notes and resolve", permissions=["delete_notes", "resolve"])
    def delete_and_resolve(self, request, queryset) -> None:
        reports = list(queryset)
        notes = self._notes(reports)
        # Resolved first: once the note is gone its reports no longer say which note they were on.
        self.resolve(request, reports=reports, notes=notes, why=": note deleted")
        self.done(request, "Notes deleted", self.delete_notes(request, notes))

    @admin.action(description="Suspend the reported notes' authors and resolve", permissions=["suspend", "resolve"])
    def suspend_and_resolve(self, request, queryset) -> None:
        reports = list(queryset)
        notes = self._notes(reports)
        authors = {note.author_id: note.author for note in notes}
        suspended = self.suspend(request, authors.values(), suspended=True, why=" (reported)")
        self.resolve(request, reports=reports, notes=notes, why=": author suspended")
        self.done(request, "People suspended", suspended)

    @admin.action(description="Unsuspend the authors of the reported notes", permissions=["suspend"])
    def unsuspend_authors(self, request, queryset) -> None:
        authors = {note.author_id: note.author for note in self._notes(queryset)}
        self.done(request, "People unsuspended", self.suspend(request, authors.values(), suspended=False))
