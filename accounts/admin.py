"""People and their connections in the admin: searchable, filterable, read-only where a change
would bypass the services; suspension is an action (accounts/moderation.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html

from accounts import moderation, search
from accounts.models import Block, Fanship, FriendSet, User, UserCounts
from cache import objects


def refuse_message(model_admin: admin.ModelAdmin, request, refused: list[User]) -> None:
    """Say who was left alone, and why (accounts.moderation.may_suspend)."""
    if refused:
        names = ", ".join(sorted(user.username for user in refused))
        model_admin.message_user(
            request,
            f"Left alone: {names}. Moderators cannot suspend or deactivate staff, only a superuser can suspend"
            " staff, nobody suspends a superuser or themselves.",
            messages.WARNING,
        )


@admin.register(User)
class PownceUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Profile", {"fields": ("display_name", "bio", "location", "website", "photo_preview")}),
        ("Moderation", {"fields": ("is_suspended", "counts")}),
    )
    # Photos have no public URL (MEDIA_URL is None), so the admin shows them through the photo
    # view instead of the file widgets, which would ask the storage for a URL.
    readonly_fields = ("photo_preview", "is_suspended", "counts", "last_login", "date_joined")
    list_display = ("username", "display_name", "email", "is_active", "is_suspended", "is_staff", "date_joined")
    list_filter = ("is_suspended", "is_active", "is_staff", "is_superuser", "groups", "date_joined")
    search_fields = ("=id", "username", "display_name", "email")
    show_full_result_count = False
    actions = ["suspend_users", "unsuspend_users", "deactivate_users"]

    def has_suspend_permission(self, request) -> bool:
        return request.user.has_perm("accounts.suspend_user")

    def _suspend(self, request, queryset, *, suspended: bool) -> None:
        if not self.has_suspend_permission(request):
            raise PermissionDenied
        people = {user.pk: user for user in queryset}
        if suspended:
            changed, refused = moderation.users_suspend_by(request.user, people.values())
            refuse_message(self, request, refused)
        else:
            changed = moderation.users_unsuspend(people)
        for pk in changed:
            self.log_change(request, people[pk], "Suspended the person." if suspended else "Unsuspended the person.")
        self.message_user(request, f"{'Suspended' if suspended else 'Unsuspended'} {len(changed)} person(s).")

    @admin.action(description="Suspend the selected people (no log-in; their notes disappear)", permissions=["suspend"])
    def suspend_users(self, request, queryset) -> None:
        self._suspend(request, queryset, suspended=True)

    @admin.action(description="Unsuspend the selected people", permissions=["suspend"])
    def unsuspend_users(self, request, queryset) -> None:
        self._suspend(request, queryset, suspended=False)

    @admin.action(description="Deactivate selected users (they can no longer log in)", permissions=["change"])
    def deactivate_users(self, request, queryset) -> None:
        # A bulk update sends no signals: the cache layer's QuerySet invalidates each row, so a
        # deactivated user's cached session user is gone on their next request.
        # Deactivating locks a person out as surely as suspending: the same people are spared.
        everyone = list(queryset)
        people = [user for user in everyone if moderation.may_suspend(request.user, user)]
        refuse_message(self, request, [user for user in everyone if user not in people])
        changed = objects.CachedQuerySet(User).filter(pk__in=[user.pk for user in people]).update(is_active=False)
        search.people_index([user.pk for user in people])  # nor to the search terms: explicitly
        for user in people:
            self.log_change(request, user, "Deactivated the account.")
        self.message_user(request, f"Deactivated {changed} user(s).")

    @admin.display(description="Photo")
    def photo_preview(self, user: User) -> str:
        return format_html('<img src="{}" alt="" width="128" height="128">', user.photo_medium_url)

    @admin.display(description="Counts")
    def counts(self, user: User) -> str:
        row = UserCounts.objects.filter(user=user).first()
        if row is None:
            return "not counted yet (run reconcile_counts)"
        return f"{row.notes} notes, {row.friends} friends, {row.fans} fans, fan of {row.fan_of}"


class ReadOnlyGraph(admin.ModelAdmin):
    """The graph changes only through accounts/services.py, which keeps its rules (sets hold only
    friends, nobody adds someone who blocked them); the admin shows it and may delete rows, whose
    signals keep the cached lists and the counts right."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Fanship)
class FanshipAdmin(ReadOnlyGraph):
    list_display = ("fan", "idol", "ignored", "created")
    list_filter = ("ignored", "created")
    list_select_related = ("fan", "idol")
    search_fields = ("fan__username", "idol__username")
    show_full_result_count = False


@admin.register(Block)
class BlockAdmin(ReadOnlyGraph):
    list_display = ("blocker", "blocked", "created")
    list_filter = ("created",)
    list_select_related = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")


@admin.register(FriendSet)
class FriendSetAdmin(ReadOnlyGraph):
    list_display = ("owner", "name", "created")
    list_filter = ("created",)
    list_select_related = ("owner",)
    search_fields = ("owner__username", "name")
