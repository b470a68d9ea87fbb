from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html

from accounts.models import Block, Fanship, FriendSet, User
from cache import objects


@admin.register(User)
class PownceUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Profile", {"fields": ("display_name", "bio", "location", "website", "photo_preview")}),
    )
    # Photos have no public URL (MEDIA_URL is None), so the admin shows them through the photo
    # view instead of the file widgets, which would ask the storage for a URL.
    readonly_fields = ("photo_preview",)
    list_display = ("username", "display_name", "email", "is_active", "is_staff", "date_joined")
    search_fields = ("username", "display_name", "email")
    actions = ["deactivate_users"]

    @admin.action(description="Deactivate selected users (they can no longer log in)")
    def deactivate_users(self, request, queryset) -> None:
        # A bulk update sends no signals: the cache layer's QuerySet invalidates each row, so a
        # deactivated user's cached session user is gone on their next request.
        changed = objects.CachedQuerySet(User).filter(pk__in=queryset.values("pk")).update(is_active=False)
        self.message_user(request, f"Deactivated {changed} user(s).")

    @admin.display(description="Photo")
    def photo_preview(self, user: User) -> str:
        return format_html('<img src="{}" alt="" width="128" height="128">', user.photo_medium_url)


@admin.register(Fanship)
class FanshipAdmin(admin.ModelAdmin):
    list_display = ("fan", "idol", "ignored", "created")
    raw_id_fields = ("fan", "idol")
    search_fields = ("fan__username", "idol__username")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created")
    raw_id_fields = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")


@admin.register(FriendSet)
class FriendSetAdmin(admin.ModelAdmin):
    list_display = ("owner", "name", "created")
    raw_id_fields = ("owner", "members")
    search_fields = ("owner__username", "name")
