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
