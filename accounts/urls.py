"""Account and people URLs.

These are included before the notes app's ``/<username>/`` profile catch-all. Every fixed first
segment here (signup, login, friends, sets …) is a reserved username (accounts.usernames), so
no profile can hide one of these pages. ``<username>`` takes any segment, so every stored
username has working links; the views answer 404 for names that are nobody's.
"""

from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from accounts import people_views, views


class PhotoSizeConverter:
    regex = "original|small|medium"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class PhotoNameConverter:
    # Stored names are "<user id>-<random hex>.jpg", possibly with a storage suffix; never a path.
    regex = r"[A-Za-z0-9_-]{1,100}\.jpg"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PhotoSizeConverter, "photo_size")
register_converter(PhotoNameConverter, "photo_name")

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LogInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_profile, name="settings"),
    path("settings/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("photos/<photo_size:size>/<photo_name:name>", views.photo, name="photo"),
    path("friends/requests/", views.friend_requests, name="friend_requests"),
    path("friends/blocked/", views.blocked_people, name="blocked_people"),
    path("friends/<str:username>/add/", views.relationship, {"action": "add"}, name="friend_add"),
    path("friends/<str:username>/remove/", views.relationship, {"action": "remove"}, name="friend_remove"),
    path("friends/<str:username>/ignore/", views.relationship, {"action": "ignore"}, name="friend_ignore"),
    path("friends/<str:username>/block/", views.relationship, {"action": "block"}, name="person_block"),
    path("friends/<str:username>/unblock/", views.relationship, {"action": "unblock"}, name="person_unblock"),
    path("search/", people_views.search, name="search"),
    path("people/", people_views.find_people, name="find_people"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/<int:set_id>/", views.set_edit, name="set_edit"),
    path("sets/<int:set_id>/delete/", views.set_delete, name="set_delete"),
    path("<str:username>/friends/", views.people, {"which": "friends"}, name="friends"),
    path("<str:username>/fans/", views.people, {"which": "fans"}, name="fans"),
    path("<str:username>/fan-of/", views.people, {"which": "fan_of"}, name="fan_of"),
]
