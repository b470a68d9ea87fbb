"""Background work of accounts, run by the task worker (`manage.py task_worker`)."""

from __future__ import annotations

from django_tasks import task

from accounts import services, suggestions


@task()
def user_photo_thumbnails_make(user_id: int) -> None:
    """The small and medium thumbnails of the user's current photo (idempotent)."""
    services.photo_thumbnails_make(user_id)


@task()
def people_suggestions_refresh(user_id: int) -> int:
    """Find again the people to suggest to the user, and the popular people when that is due
    (accounts/suggestions.py); returns how many were kept for the user. Idempotent."""
    return suggestions.suggestions_refresh(user_id)
