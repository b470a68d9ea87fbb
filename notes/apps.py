from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    verbose_name = "Notes"

    def ready(self) -> None:
        from notes import caching, counts, delivery

        caching.connect()
        counts.connect()
        delivery.connect()
