"""The database itself refuses to change or delete an audit entry, on SQLite and on PostgreSQL."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER privacy_auditentry_no_update BEFORE UPDATE ON privacy_auditentry
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER privacy_auditentry_no_delete BEFORE DELETE ON privacy_auditentry
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]
SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS privacy_auditentry_no_update",
    "DROP TRIGGER IF EXISTS privacy_auditentry_no_delete",
]
POSTGRES = [
    """CREATE FUNCTION privacy_auditentry_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    """CREATE TRIGGER privacy_auditentry_append_only BEFORE UPDATE OR DELETE ON privacy_auditentry
       FOR EACH ROW EXECUTE FUNCTION privacy_auditentry_refuse()""",
]
POSTGRES_UNDO = [
    "DROP TRIGGER IF EXISTS privacy_auditentry_append_only ON privacy_auditentry",
    "DROP FUNCTION IF EXISTS privacy_auditentry_refuse()",
]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_personal_values_and_audit_log")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_UNDO, "postgresql": POSTGRES_UNDO}),
        )
    ]
