"""The inbox moves to clusters of its own (notes/partitioning.py).

* ``Delivery`` loses its foreign key constraints (its rows may live on another server than the
  notes and users they point at).
* The ``delivery`` table is created on every inbox primary: operations that must reach the inbox
  databases carry the ``inbox`` hint (pownce/router.py, ``allow_migrate``). Without inbox
  clusters that is the main database, where the table already exists; with them, the main
  database keeps its (empty, unused) one, which Django's migrations and test setup expect to
  find there. Later migrations of inbox models must do the same: an operation with the
  ``inbox`` hint for the shards, none for the main database.
* ``InboxShard``, the logical -> physical map, in the main database, filled with the logical
  shards spread round-robin over the physical shards configured now.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def create_inbox_tables(apps, schema_editor):
    model = apps.get_model("notes", "Delivery")
    if model._meta.db_table not in schema_editor.connection.introspection.table_names():
        schema_editor.create_model(model)


def fill_shard_map(apps, schema_editor):
    shard = apps.get_model("notes", "InboxShard")
    physical = len(settings.INBOX_CLUSTERS)
    shard.objects.using(schema_editor.connection.alias).bulk_create(
        [shard(logical=n, physical=n % physical + 1) for n in range(settings.INBOX_LOGICAL_SHARDS)],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("notes", "0006_app_made_ids"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="InboxShard",
            fields=[
                ("logical", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("physical", models.PositiveSmallIntegerField()),
                ("moving_to", models.PositiveSmallIntegerField(blank=True, null=True)),
            ],
        ),
        migrations.AlterField(
            model_name="delivery",
            name="note",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="notes.note",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="recipient",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(create_inbox_tables, migrations.RunPython.noop, hints={"inbox": True}, atomic=False),
        migrations.RunPython(fill_shard_map, migrations.RunPython.noop),
    ]
