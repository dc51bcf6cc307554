"""The contact policy's starting caps, shared by every department: at most one promotion a day and three
messages that are not transactional a week. Administrators change them in the API."""

from django.db import migrations

DEFAULT_CAPS = [("marketing", 1, 24), ("", 3, 24 * 7)]


def add_caps(apps, schema_editor):
    FrequencyCap = apps.get_model("engage", "FrequencyCap")
    if not FrequencyCap.objects.exists():
        FrequencyCap.objects.bulk_create(
            FrequencyCap(topic=topic, limit=limit, window_hours=hours) for topic, limit, hours in DEFAULT_CAPS
        )


def remove_caps(apps, schema_editor):
    FrequencyCap = apps.get_model("engage", "FrequencyCap")
    for topic, limit, hours in DEFAULT_CAPS:
        FrequencyCap.objects.filter(topic=topic, limit=limit, window_hours=hours).delete()


class Migration(migrations.Migration):
    dependencies = [("engage", "0001_events_triggers_outbox_incidents")]

    operations = [migrations.RunPython(add_caps, remove_caps)]
