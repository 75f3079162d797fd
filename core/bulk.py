"""Set-based row writes for batches (imports, bulk upserts): one statement per thousand rows, not one per row.

They bypass `Model.save()`, so callers set every derived column first (e.g. the
models' `derive()`), and they bypass the services' hooks, so callers run those
(sync stamps, webhooks) for the whole batch themselves — crm.services.customers_write_many does.
"""

from django.db import connection

BATCH = 1000


def insert_rows(model, records) -> list:
    """INSERT the unsaved `records`; their primary keys are set afterwards (PostgreSQL and SQLite return them)."""
    return model.objects.bulk_create(records, batch_size=BATCH)


def update_rows(model, records, fields: list[str]) -> int:
    """UPDATE `fields` of stored `records` to their in-memory values.

    On PostgreSQL one statement per batch joins the table to one array per column
    (`unnest`), so the statement's size does not grow with rows times columns, as
    Django's `bulk_update` (a CASE per column) does; elsewhere `bulk_update` serves.
    """
    records = list(records)
    if not records or not fields:
        return 0
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(records, fields, batch_size=BATCH)
    opts = model._meta
    columns = [opts.get_field(name) for name in fields]
    table = connection.ops.quote_name(opts.db_table)
    pk_column = connection.ops.quote_name(opts.pk.column)
    names = [connection.ops.quote_name(field.column) for field in columns]
    types = [opts.pk.db_type(connection)] + [field.db_type(connection) for field in columns]
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    aliases = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
    assignments = ", ".join(f"{name} = v.c{i}" for i, name in enumerate(names))
    sql = f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({aliases}) WHERE t.{pk_column} = v.id"
    done = 0
    with connection.cursor() as cursor:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            params = [[record.pk for record in batch]]
            for field in columns:
                params.append(
                    [field.get_db_prep_save(getattr(record, field.attname), connection) for record in batch]
                )
            cursor.execute(sql, params)
            done += cursor.rowcount
    return done
