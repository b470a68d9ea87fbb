from django.urls import path

from notes.feeds import PersonFeed, PublicFeed
from notes.views import downloads, notes, notifications, posting, streams

urlpatterns = [
    path("", streams.home, name="home"),
    path("public/", streams.public, name="public"),
    path("public/feed/", PublicFeed(), name="public_feed"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_read"),
    path("notes/new/", posting.note_new, name="note_new"),
    path("notes/<int:note_id>/", notes.note_detail, name="note_detail"),
    path("notes/<int:note_id>/reply/", notes.reply_create, name="reply_create"),
    path("notes/<int:note_id>/forward/", notes.note_forward, name="note_forward"),
    path("notes/<int:note_id>/star/", notes.star_add, name="star_add"),
    path("notes/<int:note_id>/unstar/", notes.star_remove, name="star_remove"),
    path("notes/<int:note_id>/delete/", notes.note_delete, name="note_delete"),
    path("notes/<int:note_id>/report/", notes.note_report, name="note_report"),
    path("notes/<int:note_id>/file/<path:filename>", downloads.note_file, name="note_file"),
    path("notes/<int:note_id>/thumbnail.jpg", downloads.note_thumbnail, name="note_thumbnail"),
    path("notes/<int:note_id>/event.ics", downloads.note_event_ics, name="note_event_ics"),
    path("replies/<int:reply_id>/delete/", notes.reply_delete, name="reply_delete"),
    path("<str:username>/feed/", PersonFeed(), name="person_feed"),
    # Last: a username takes any top-level path no other page claimed.
    path("<str:username>/", streams.profile, name="profile"),
]
