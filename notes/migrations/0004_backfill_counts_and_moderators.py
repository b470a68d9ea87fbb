"""Counts for the notes and people that exist already, and the "Moderators" group.

The counts are computed in SQL from the source tables, the way ``manage.py reconcile_counts``
computes them; the group gets exactly what moderation needs: see notes, replies, people and
reports, hide/unhide and delete notes (a note's replies go with it), suspend/unsuspend people,
resolve reports.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATORS = "Moderators"
MODERATOR_PERMISSIONS = [
    ("notes", "note", ["view_note", "hide_note", "delete_note"]),
    ("notes", "reply", ["view_reply", "delete_reply"]),
    ("notes", "report", ["view_report", "change_report"]),
    ("accounts", "user", ["view_user", "suspend_user"]),
]

NOTE_COUNTS = """
INSERT INTO notes_notecounts (note_id, replies, stars)
SELECT n.id,
       (SELECT COUNT(*) FROM notes_reply r WHERE r.note_id = n.id),
       (SELECT COUNT(*) FROM notes_star s WHERE s.note_id = n.id)
FROM notes_note n
"""

FRIENDS = """(SELECT COUNT(*) FROM accounts_fanship f WHERE f.fan_id = u.id AND EXISTS
    (SELECT 1 FROM accounts_fanship b WHERE b.fan_id = f.idol_id AND b.idol_id = u.id))"""

USER_COUNTS = f"""
INSERT INTO accounts_usercounts (user_id, notes, friends, fans, fan_of)
SELECT u.id,
       (SELECT COUNT(*) FROM notes_note n WHERE n.author_id = u.id),
       {FRIENDS},
       (SELECT COUNT(*) FROM accounts_fanship f WHERE f.idol_id = u.id) - {FRIENDS},
       (SELECT COUNT(*) FROM accounts_fanship f WHERE f.fan_id = u.id) - {FRIENDS}
FROM accounts_user u
"""


def backfill_counts(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(NOTE_COUNTS)
        cursor.execute(USER_COUNTS)


def create_moderators(apps, schema_editor):
    # Permissions are normally created after all migrations ran; this one needs them now.
    for label in ("notes", "accounts"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name=MODERATORS)
    wanted = [
        Permission.objects.using(schema_editor.connection.alias).get(
            content_type__app_label=app, content_type__model=model, codename=codename
        )
        for app, model, codenames in MODERATOR_PERMISSIONS
        for codename in codenames
    ]
    group.permissions.set(wanted)


def remove_moderators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=MODERATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0003_note_counts_reports_hidden"),
        ("accounts", "0003_user_counts_and_suspension"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(backfill_counts, migrations.RunPython.noop),
        migrations.RunPython(create_moderators, remove_moderators),
    ]
