from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_people_search_and_suggestions")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="last_audience",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
