"""Background work of accounts, run by the task worker (`manage.py task_worker`)."""

from __future__ import annotations

from django_tasks import task

from accounts import services


@task()
def user_photo_thumbnails_make(user_id: int) -> None:
    """The small and medium thumbnails of the user's current photo (idempotent)."""
    services.photo_thumbnails_make(user_id)
