"""Events stored before events were acted on by a job were acted on as they arrived: mark them so."""

from django.db import migrations
from django.db.models import F


def mark(apps, schema_editor):
    Event = apps.get_model("engage", "Event")
    Event.objects.filter(processed_at__isnull=True).update(processed_at=F("received_at"))


class Migration(migrations.Migration):
    dependencies = [("engage", "0003_event_processed_at")]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]
