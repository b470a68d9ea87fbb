"""An index for upcoming events: events by start time (notes.selectors.upcoming_events)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notes', '0009_note_image_size'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='note',
            index=models.Index(fields=['kind', 'event_start', 'id'], name='note_kind_event_start'),
        ),
    ]
