"""Finding people: the search terms of every person (accounts/search.py), made here for the
people who exist already; and the table the task worker writes suggestions to
(accounts/suggestions.py), empty until it runs."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BATCH = 1000


def index_everyone(apps, schema_editor):
    # The rule of today's code (terms_of reads only the fields it names, which historical
    # users have too); new rules later would re-index with accounts.search.people_index.
    from accounts.search import terms_of

    user = apps.get_model("accounts", "User")
    term = apps.get_model("accounts", "SearchTerm")
    alias = schema_editor.connection.alias
    after = 0
    while True:
        people = list(user.objects.using(alias).filter(pk__gt=after).order_by("pk")[:BATCH])
        if not people:
            return
        rows = [term(term=text, person_id=person.pk) for person in people for text in sorted(terms_of(person))]
        term.objects.using(alias).bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        after = people[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_usercounts_public_notes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("term", models.CharField(max_length=80)),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("term", "person"), name="searchterm_term_person")],
            },
        ),
        migrations.CreateModel(
            name="Suggestion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("friends", "Friends of your friends"),
                            ("same_notes", "Starred or replied to the same notes as you"),
                            ("popular", "Popular on Pownce"),
                        ],
                        max_length=12,
                    ),
                ),
                ("weight", models.IntegerField(default=0)),
                ("rank", models.PositiveSmallIntegerField()),
                ("computed", models.DateTimeField()),
                (
                    "for_user",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["for_user", "rank"], name="suggestion_for_user_rank")],
            },
        ),
        migrations.RunPython(index_everyone, migrations.RunPython.noop),
    ]
