from django.contrib import admin

from notes.models import Note, Reply


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "kind", "audience", "created")
    list_filter = ("kind", "audience")
    search_fields = ("author__username", "body", "url", "event_name")
    raw_id_fields = ("author", "recipient", "friend_set", "forwarded_from", "forwarded_from_author")
    readonly_fields = ("created",)


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ("id", "note", "author", "created")
    search_fields = ("author__username", "body")
    raw_id_fields = ("note", "author", "note_author")
