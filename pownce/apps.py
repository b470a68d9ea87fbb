from django.apps import AppConfig


class PownceConfig(AppConfig):
    name = "pownce"
    verbose_name = "Pownce"

    def ready(self) -> None:
        from pownce import checks  # noqa: F401  (registers the system checks)
