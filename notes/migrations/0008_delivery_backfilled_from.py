"""A delivery says whether it came with adding the note's author (the backfill, rule 10 of
notes/visibility.py): ``backfilled_from``, the author's id, NULL for every delivery made when
its note was sent (all of them so far), and an index to find one author's in one inbox.

As 0007 says, inbox models change on the inbox primaries through operations with the ``inbox``
hint: the column and index are added there by :func:`add_to_inbox_tables` (which leaves a
table that has them alone: without inbox clusters, the main database's table is the inbox and
got them from the operations before it).
"""

from django.db import migrations, models

INDEX = models.Index(fields=["recipient", "backfilled_from"], name="delivery_backfilled")


def add_to_inbox_tables(apps, schema_editor):
    model = apps.get_model("notes", "Delivery")
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        columns = {
            column.name for column in connection.introspection.get_table_description(cursor, model._meta.db_table)
        }
        indexes = connection.introspection.get_constraints(cursor, model._meta.db_table)
    if "backfilled_from" not in columns:
        schema_editor.add_field(model, model._meta.get_field("backfilled_from"))
    if INDEX.name not in indexes:
        schema_editor.add_index(model, INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0007_partitioned_inbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="backfilled_from",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(model_name="delivery", index=INDEX),
        migrations.RunPython(add_to_inbox_tables, migrations.RunPython.noop, hints={"inbox": True}, atomic=False),
    ]
