from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "pownce.api"
    label = "api"
    verbose_name = "Client API"

    def ready(self) -> None:
        from pownce.api import tokens

        tokens.connect()
