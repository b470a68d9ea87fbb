from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import caching, counts, search

        caching.connect()
        counts.connect()
        search.connect()
