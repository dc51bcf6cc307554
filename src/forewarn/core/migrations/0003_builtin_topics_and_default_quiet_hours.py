"""The four topics Forewarn starts with (transactional notices and service messages go unless refused;
promotions and surveys need a yes) and the quiet hours everyone has until they choose their own,
21:00-09:00, as the customer's own default was before."""

from datetime import time

from django.db import migrations

BUILT_IN = [("transactional", False), ("service", False), ("marketing", True), ("surveys", True)]


def add(apps, schema_editor):
    Topic = apps.get_model("core", "Topic")
    for position, (code, opt_in) in enumerate(BUILT_IN):
        Topic.objects.get_or_create(code=code, defaults={"opt_in": opt_in, "position": position})
    ContactDefaults = apps.get_model("core", "ContactDefaults")
    ContactDefaults.objects.get_or_create(
        pk=1, defaults={"quiet_hours_start": time(21, 0), "quiet_hours_end": time(9, 0)}
    )


def remove(apps, schema_editor):
    apps.get_model("core", "Topic").objects.filter(code__in=[code for code, _opt_in in BUILT_IN]).delete()
    apps.get_model("core", "ContactDefaults").objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_topics_and_contact_defaults")]

    operations = [migrations.RunPython(add, remove)]
