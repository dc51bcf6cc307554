"""PostgreSQL's full-text index over what was said in tickets (services/tickets.matching_ticket_ids uses
the same expression, so the planner uses it). SQLite searches with a substring match and needs none."""

from django.db import migrations

INDEX = "inbox_entry_text_fts"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON inbox_entry "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))"
)


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("inbox", "0003_routing_sla_answers")]
    operations = [migrations.RunPython(create, drop)]
