"""Each person's time zone (accounts/timezones.py); everyone already here starts in UTC."""

import accounts.timezones
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_user_last_audience'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='time_zone',
            field=models.CharField(default='UTC', max_length=64, validators=[accounts.timezones.validate_time_zone]),
        ),
    ]
