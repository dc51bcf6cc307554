"""PostgreSQL finds profiles by any part of their search text (``search_text LIKE '%карась%'``: a name in
either script, a phone's digits, an e-mail) through a trigram index instead of reading every profile: the
customer search and the inbox's search by customer (ADR 0022). ``pg_trgm`` ships with PostgreSQL and is a
trusted extension, so the database's owner may create it. SQLite reads the table, as before."""

from django.db import migrations

EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
INDEX = (
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer "
    "USING gin (search_text gin_trgm_ops)"
)


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(EXTENSION)
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_default_quiet_hours_followed")]
    operations = [migrations.RunPython(create, drop)]
