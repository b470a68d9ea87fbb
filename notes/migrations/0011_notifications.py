"""Notifications and each person's read mark, beside the inbox (notes/models.py, Notification).

Both are per recipient like ``Delivery``, so they live on the inbox shards: as migration 0007
says, the tables are created on the main database by ``CreateModel`` (no hint) and on every
inbox primary by an operation carrying the ``inbox`` hint (pownce/router.py, ``allow_migrate``).
"""

import django.db.models.deletion
import django.utils.timezone
import pownce.ids
from django.conf import settings
from django.db import migrations, models


def create_inbox_tables(apps, schema_editor):
    existing = schema_editor.connection.introspection.table_names()
    for name in ("Notification", "NotificationsRead"):
        model = apps.get_model("notes", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_usercounts_public_notes'),
        ('notes', '0010_note_event_start_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='NotificationsRead',
            fields=[
                ('recipient', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('upto', models.BigIntegerField(default=0)),
            ],
            options={
                'verbose_name_plural': 'notifications read',
            },
        ),
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigIntegerField(default=pownce.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('friend_request', 'Friend request'), ('friend_accepted', 'Friend request accepted'), ('reply', 'Reply to your note'), ('thread_reply', 'Reply after yours'), ('star', 'Star'), ('forward', 'Forward'), ('private_note', 'Private note')], max_length=16)),
                ('subject', models.BigIntegerField(default=0)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('note', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='notes.note')),
                ('recipient', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('reply', models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='notes.reply')),
            ],
            options={
                'indexes': [models.Index(fields=['recipient', 'id'], name='notification_recipient_id')],
                'constraints': [models.UniqueConstraint(fields=('recipient', 'kind', 'actor', 'subject'), name='notification_once')],
            },
        ),
        migrations.RunPython(create_inbox_tables, migrations.RunPython.noop, hints={"inbox": True}, atomic=False),
    ]
