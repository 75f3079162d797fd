"""PostgreSQL-only test helpers."""

from django.db import connection


def refuse_inserts(table: str, *, column: str, value: str, sqlstate: str) -> None:
    """Make PostgreSQL refuse a row inserted into `table` with `column` = `value`, raising `sqlstate`.

    A real database error in the middle of a batch (the trigger goes with the test's transaction).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.{connection.ops.quote_name(column)} = %s THEN "
            f"RAISE EXCEPTION 'refused' USING ERRCODE = '{sqlstate}'; END IF; RETURN NEW; END $$",
            [value],
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {connection.ops.quote_name(table)} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
        )


def stop_refusing(table: str) -> None:
    """Undo `refuse_inserts` (needed where the test's data is committed, as in browser tests)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS refuse_insert ON {connection.ops.quote_name(table)}")
        cursor.execute("DROP FUNCTION IF EXISTS refuse_insert()")
