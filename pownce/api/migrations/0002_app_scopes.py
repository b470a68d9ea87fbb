"""The scopes each app registered with. Apps registered before this were never limited: they
keep every umbrella scope they could ask for then (read write follow push)."""

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings

LEGACY_SCOPES = "read write follow push"


def existing_apps_keep_their_scopes(apps, schema_editor):
    Application = apps.get_model(oauth2_settings.APPLICATION_MODEL)
    AppScopes = apps.get_model("api", "AppScopes")
    AppScopes.objects.bulk_create(
        [AppScopes(application_id=pk, scopes=LEGACY_SCOPES) for pk in Application.objects.values_list("pk", flat=True)]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AppScopes",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scopes", models.CharField(default="read", max_length=500)),
                (
                    "application",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="registered_scopes",
                        to=oauth2_settings.APPLICATION_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(existing_apps_keep_their_scopes, migrations.RunPython.noop),
    ]
