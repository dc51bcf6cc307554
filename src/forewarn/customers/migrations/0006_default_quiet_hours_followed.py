"""Customers whose quiet hours are 21:00-09:00, what every profile was given before it could follow a
default, follow the default quiet hours now (21:00-09:00 to begin with, so nothing changes for them until
an administrator changes the default); every other window was someone's choice and stays."""

from datetime import time

from django.db import migrations

OLD_DEFAULT = {"quiet_hours_start": time(21, 0), "quiet_hours_end": time(9, 0)}


def follow(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.filter(**OLD_DEFAULT).update(quiet_hours_start=None, quiet_hours_end=None)


def unfollow(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.filter(quiet_hours_start__isnull=True).update(**OLD_DEFAULT)
    Customer.objects.filter(quiet_hours_end__isnull=True).update(**OLD_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_quiet_hours_may_follow_the_default")]

    operations = [migrations.RunPython(follow, unfollow)]
