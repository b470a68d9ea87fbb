"""What the notes and reports admins share: moderation actions that check permissions, call
notes/moderation.py, write the admin history, and also run from buttons on a change page."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from accounts import moderation as accounts_moderation
from accounts.admin import refuse_message
from accounts.models import User
from notes import moderation
from notes.models import Note, Report

PERMISSIONS = {
    "hide": "notes.hide_note",
    "suspend": "accounts.suspend_user",
    "delete_notes": "notes.delete_note",
    "resolve": "notes.change_report",
}


class Moderating(admin.ModelAdmin):
    """A ModelAdmin whose actions moderate notes and people.

    Subclasses list ``moderation_buttons`` (action name, label, what it acts on): those actions
    also run on the one object of a change page, from buttons under it, grouped by what they act
    on. A page shows a button only if its action is allowed to the moderator and applies to the
    object's state (:meth:`button_applies`). Each action says which permission it needs
    (``@admin.action(permissions=[...])`` hides it from people without it) and checks it again
    when it runs.
    """

    moderation_buttons: tuple[tuple[str, str, str], ...] = ()

    def has_hide_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSIONS["hide"])

    def has_suspend_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSIONS["suspend"])

    def has_delete_notes_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSIONS["delete_notes"])

    def has_resolve_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSIONS["resolve"])

    def require(self, request, *names: str) -> None:
        if not all(request.user.has_perm(PERMISSIONS[name]) for name in names):
            raise PermissionDenied

    # --- What the actions do, given the notes or people they apply to ---------------------------

    def hide(self, request, notes: Iterable[Note], *, hidden: bool, why: str = "") -> int:
        self.require(request, "hide")
        notes = {note.pk: note for note in notes}
        change = moderation.notes_hide if hidden else moderation.notes_unhide
        changed = change(notes)
        for pk in changed:
            self.log_change(request, notes[pk], f"{'Hid' if hidden else 'Unhid'} the note{why}.")
        return len(changed)

    def suspend(self, request, users: Iterable[User], *, suspended: bool, why: str = "") -> int:
        self.require(request, "suspend")
        users = {user.pk: user for user in users}
        if suspended:
            changed, refused = accounts_moderation.users_suspend_by(request.user, users.values())
            refuse_message(self, request, refused)
        else:
            changed = accounts_moderation.users_unsuspend(users)
        for pk in changed:
            self.log_change(request, users[pk], f"{'Suspended' if suspended else 'Unsuspended'} the person{why}.")
        return len(changed)

    def resolve(self, request, *, reports: Iterable[Report] = (), notes: Iterable[Note] = (), why: str = "") -> int:
        """Close ``reports`` and every open report on ``notes`` (a decision about a note answers
        all its reports), each written to the admin history; returns how many were closed."""
        self.require(request, "resolve")
        reports = {report.pk: report for report in reports}
        closed = moderation.reports_resolve(reports, by=request.user)
        note_ids = [note.pk for note in notes]
        if note_ids:
            closed += moderation.reports_resolve_on_notes(note_ids, by=request.user)
        others = [pk for pk in closed if pk not in reports]
        reports.update({report.pk: report for report in Report.objects.filter(pk__in=others)})
        for pk in closed:
            self.log_change(request, reports[pk], f"Resolved the report{why}.")
        return len(closed)

    def delete_notes(self, request, notes: list[Note]) -> int:
        self.require(request, "delete_notes")
        if notes:
            self.log_deletions(request, notes)
        return moderation.notes_delete(notes)

    def done(self, request, what: str, count: int) -> None:
        level = messages.SUCCESS if count else messages.WARNING
        self.message_user(request, f"{what}: {count}.", level)

    # --- Buttons on a change page -------------------------------------------------------------

    def button_applies(self, obj, name: str) -> bool:
        """Whether button ``name`` does something to ``obj`` as it is now (Hide for a note that
        is shown, Unhide for a hidden one …): a page offers only those."""
        return True

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None:
            names = [button[0] for button in self.moderation_buttons]
            chosen = next((name for name in names if f"_moderate_{name}" in request.POST), None)
            if chosen is not None:
                return self._run_button(request, unquote(object_id), chosen)
        obj = self.get_object(request, unquote(object_id)) if object_id is not None else None
        groups: dict[str, list[tuple[str, str]]] = {}
        for name, label, group in self.moderation_buttons:
            if self._allowed(request, name) and obj is not None and self.button_applies(obj, name):
                groups.setdefault(group, []).append((name, label))
        extra_context = {
            **(extra_context or {}),
            "moderation_groups": list(groups.items()),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _allowed(self, request, name: str) -> bool:
        action = getattr(self, name)
        return all(getattr(self, f"has_{perm}_permission")(request) for perm in action.allowed_permissions)

    def _run_button(self, request, object_id: str, name: str):
        if not self._allowed(request, name):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=object_id)
        if not queryset.exists():
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        getattr(self, name)(request, queryset)
        if self.get_queryset(request).filter(pk=object_id).exists():
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect("../../")
