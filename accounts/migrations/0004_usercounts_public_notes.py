"""Count each person's public notes apart: a visitor is told those, not every note."""

from django.db import migrations, models

PUBLIC_NOTES = """
UPDATE accounts_usercounts SET public_notes = (
    SELECT COUNT(*) FROM notes_note n WHERE n.author_id = accounts_usercounts.user_id AND n.audience = 'public'
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_counts_and_suspension"),
        # The backfill reads the notes table.
        ("notes", "0005_note_idempotency_key"),
    ]

    operations = [
        migrations.AddField(model_name="usercounts", name="public_notes", field=models.IntegerField(default=0)),
        migrations.RunSQL(PUBLIC_NOTES, migrations.RunSQL.noop),
    ]
