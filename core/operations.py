"""Migration operations shared by the apps."""

from django.db import migrations


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """RunSQL that leaves other databases alone.

    For indexes tuned to PostgreSQL's planner (GIN, INCLUDE, NULLS LAST): they are
    created by migrations only, outside the models' Meta, so the SQLite development
    database is never asked to build them, not even when it rebuilds a table.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_index(name: str, table: str, definition: str) -> RunSQLOnPostgreSQL:
    """CREATE INDEX `name` ON `table` `definition` on PostgreSQL, dropped again when migrating back."""
    return RunSQLOnPostgreSQL(
        sql=f"CREATE INDEX {name} ON {table} {definition}",
        reverse_sql=f"DROP INDEX IF EXISTS {name}",
    )
