"""Set-based row writes for batches (imports, bulk upserts): one statement per thousand rows, not one per row.

They bypass `Model.save()`, so callers set every derived column first (e.g. the
models' `derive()`), and they bypass the services' hooks, so callers run those
(sync stamps, webhooks) for the whole batch themselves — crm.services.customers_write_many does.
"""

import gc
from contextlib import contextmanager
from functools import cache

from django.db import connection

BATCH = 1000


@contextmanager
def collecting_at_end():
    """Hold Python's cycle collector off while a batch runs (it resumes afterwards).

    A batch keeps hundreds of thousands of objects alive until it ends (rows, records,
    their dicts), and the collector walks all of them each time enough new ones pile up:
    a fifth of an import's time, for cycles that do not exist. Nests.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def lock_rows(model, ids) -> None:
    """Lock the rows of `ids` FOR UPDATE in id order, the order every writer locks in; a statement per 5,000."""
    ids = sorted(set(ids))
    for start in range(0, len(ids), 5000):
        locked = model.objects.filter(pk__any=ids[start : start + 5000]).order_by("pk").select_for_update()
        list(locked.values_list("pk", flat=True))


# Column types whose Python values psycopg writes unchanged in a COPY.
_AS_IS = {
    "CharField",
    "TextField",
    "EmailField",
    "URLField",
    "SlugField",
    "BooleanField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "DateTimeField",
    "DateField",
    "ForeignKey",
}


class Maker:
    """Makes unsaved instances of one model from {field name: value}, as `model(**values)` does, in half the time.

    Django's keyword path looks every field up among the keywords and sets each related
    object through its descriptor; positional values skip both. Related objects are put
    in the instance's cache as the descriptor would, so reading them asks no query.
    Callers pass related objects of the right model (they are not checked again).
    """

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.position = {}
        self.relations = {}
        for position, field in enumerate(self.fields):
            self.position[field.name] = self.position[field.attname] = position
            if field.is_relation:
                self.relations[field.name] = (position, field)
        # Defaults that are values are shared, as Django shares them; callable ones are called per instance.
        self.called = [i for i, field in enumerate(self.fields) if field.has_default() and callable(field.default)]
        self.template = [None if i in self.called else field.get_default() for i, field in enumerate(self.fields)]

    def __call__(self, values: dict):
        args = self.template.copy()
        for position in self.called:
            args[position] = self.fields[position].get_default()
        related = []
        for name, value in values.items():
            if name in self.relations:
                position, field = self.relations[name]
                args[position] = None if value is None else getattr(value, field.target_field.attname)
                related.append((field, value))
            elif name in self.position:
                args[self.position[name]] = value
            else:
                raise TypeError(f"{self.model.__name__} has no field named {name!r}")
        instance = self.model(*args)
        for field, value in related:
            field.set_cached_value(instance, value)
        return instance


@cache
def maker(model) -> Maker:
    """The model's Maker (one per model and process)."""
    return Maker(model)


def insert_rows(model, records) -> list:
    """INSERT the unsaved `records` and set their primary keys.

    On PostgreSQL the ids are taken from the table's sequence first, then the rows go in
    through COPY, several times faster than a multi-row INSERT; elsewhere `bulk_create`.
    Every concrete column is written, so callers set defaults and timestamps beforehand.
    """
    records = list(records)
    if not records:
        return records
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(records, batch_size=BATCH)
    opts = model._meta
    fields = [field for field in opts.local_concrete_fields if not field.primary_key]
    table = connection.ops.quote_name(opts.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in [opts.pk.column, *(f.column for f in fields)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(records)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        # Values psycopg adapts as they are need no preparing (most columns; a third of the time saved).
        prepared = [field.get_internal_type() not in _AS_IS for field in fields]
        attnames = [field.attname for field in fields]
        # psycopg's own COPY: its errors are made Django's, as for every other statement.
        with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, record in zip(ids, records, strict=True):
                record.pk = pk
                row = [pk]
                for field, attname, prepare in zip(fields, attnames, prepared, strict=True):
                    value = getattr(record, attname)
                    row.append(field.get_db_prep_save(value, connection) if prepare else value)
                copy.write_row(row)
    for record in records:
        record._state.adding, record._state.db = False, connection.alias
    return records


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
                params.append([field.get_db_prep_save(getattr(record, field.attname), connection) for record in batch])
            cursor.execute(sql, params)
            done += cursor.rowcount
    return done
