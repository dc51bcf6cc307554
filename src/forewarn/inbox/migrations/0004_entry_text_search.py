"""PostgreSQL keeps each entry's words as a stored ``tsvector`` with a GIN index, so search neither
recomputes ``to_tsvector`` per row nor reads the text (services/tickets.matching_ticket_ids queries
``inbox_entry.search``). The column is generated from ``text``, so every write (erasure included) keeps
it right. SQLite searches with a pattern match and needs neither."""

from django.db import migrations

ADD = (
    "ALTER TABLE inbox_entry ADD COLUMN IF NOT EXISTS search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE(text, ''))) STORED"
)
INDEX = "CREATE INDEX IF NOT EXISTS inbox_entry_search_gin ON inbox_entry USING gin (search)"
# More of the words' frequencies in the statistics: the planner's guesses stay closer for rarer words.
STATISTICS = "ALTER TABLE inbox_entry ALTER COLUMN search SET STATISTICS 1000"


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)
        schema_editor.execute(INDEX)
        schema_editor.execute(STATISTICS)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS inbox_entry_search_gin")
        schema_editor.execute("ALTER TABLE inbox_entry DROP COLUMN IF EXISTS search")


class Migration(migrations.Migration):
    dependencies = [("inbox", "0003_routing_sla_answers")]
    operations = [migrations.RunPython(create, drop)]
