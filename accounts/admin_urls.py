"""The admin's log-in page with the limits of ``/login/`` (accounts.views.admin_login), included
by pownce/urls.py ahead of the admin's own URLs."""

from django.urls import path

from accounts import views

urlpatterns = [path("", views.admin_login, name="admin_login")]
