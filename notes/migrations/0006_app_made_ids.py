"""Notes and deliveries numbered by the app (pownce/ids.py) instead of AUTO_INCREMENT.

Existing rows keep their ids: only the column's default changes. An app-made id starts with
the milliseconds since 2024, so the smallest one made today (about 2**52) is far above any
AUTO_INCREMENT id a table could have reached; the check below refuses to migrate a database
where that would not hold, rather than let a new id collide with an old one."""

from django.db import migrations, models
from django.utils import timezone

import pownce.ids


def new_ids_start_above_existing(apps, schema_editor):
    floor = pownce.ids.lowest_id_at(timezone.now())
    for name in ("Note", "Delivery"):
        model = apps.get_model("notes", name)
        if model._meta.db_table not in schema_editor.connection.introspection.table_names():
            continue
        highest = model.objects.using(schema_editor.connection.alias).aggregate(m=models.Max("pk"))["m"] or 0
        if highest >= floor:
            raise RuntimeError(f"{name} id {highest} is not below the first app-made id {floor}")


class Migration(migrations.Migration):

    dependencies = [
        ('notes', '0005_note_idempotency_key'),
    ]

    operations = [
        migrations.AlterField(
            model_name='delivery',
            name='id',
            field=models.BigIntegerField(default=pownce.ids.new_id, editable=False, primary_key=True, serialize=False),
        ),
        migrations.AlterField(
            model_name='note',
            name='id',
            field=models.BigIntegerField(default=pownce.ids.new_id, editable=False, primary_key=True, serialize=False),
        ),
        migrations.RunPython(new_ids_start_above_existing, migrations.RunPython.noop),
    ]
