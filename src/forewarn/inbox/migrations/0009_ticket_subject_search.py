"""PostgreSQL keeps each ticket's subject words as a stored ``tsvector`` with a GIN index, as entries keep
theirs (0004), so a search finds tickets by subject through the index (services/tickets._subject_matches
queries ``inbox_ticket.subject_search``). SQLite searches with a pattern match and needs neither."""

from django.db import migrations

ADD = (
    "ALTER TABLE inbox_ticket ADD COLUMN IF NOT EXISTS subject_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE(subject, ''))) STORED"
)
INDEX = (
    "CREATE INDEX IF NOT EXISTS inbox_ticket_subject_search_gin ON inbox_ticket USING gin (subject_search)"
)


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS inbox_ticket_subject_search_gin")
        schema_editor.execute("ALTER TABLE inbox_ticket DROP COLUMN IF EXISTS subject_search")


class Migration(migrations.Migration):
    dependencies = [("inbox", "0008_ticket_indexes_hold_id")]
    operations = [migrations.RunPython(create, drop)]
