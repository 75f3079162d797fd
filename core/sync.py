"""Incremental sync: a change sequence that becomes visible in commit order, tombstones, sync tokens.

Every write to a synced record (crm.Company, crm.Contact, pipeline.Deal) stamps it
with a number from one global sequence (`change_seq`); a deletion leaves a
`Tombstone` with its own number. A client asks for everything numbered above the
last number it has seen and stores the highest one it received.

Why not a PostgreSQL sequence (`nextval()`) or an auto-increment id? Numbers are
handed out when a transaction asks for them, but become visible when it commits,
and transactions commit in any order. Writer A takes 7 and is slow; writer B takes
8 and commits first; a client syncing in between sees 8, stores "8", and never
asks for 7 again: A's change is lost for that client forever.

So the number comes from one row (`ChangeCounter`) that the writer locks with
`SELECT … FOR UPDATE` as late as possible in its transaction, right before the
service returns. The lock is held until commit, so the next writer cannot take a
number until this one has committed (or rolled back, which releases the number
to be taken again). Numbers therefore commit in increasing order: a reader that
sees N has necessarily seen every number below N that will ever commit. The cost
is that the tail of concurrent write transactions (lock → commit) is serialized;
taking the number last keeps that tail to a few statements.

A batch of thousands of rows (crm.services.customers_write_many) takes its numbers
just before it writes the rows, and writes them with the rows: stamping afterwards
would write every row a second time, all of it under the lock too. So that it still
never waits for a row while holding the counter, it first locks the rows it changes
and the companies its rows refer to (their foreign-key checks run at commit).

SQLite has a single writer anyway, so the same code is correct there too.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from core import bulk
from core.models import ChangeCounter, Tombstone

TOKEN_SALT = "safqa.sync-token"


def take_change_seq(count: int = 1) -> int:
    """Reserve `count` consecutive numbers under the counter's row lock; return the first.

    Must run inside the writer's transaction, as its last statements: the lock is
    held until commit (see the module docstring).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_change_seq() must run inside the writer's transaction")
    counter = ChangeCounter.objects.select_for_update().filter(pk=1).first()
    if counter is None:  # the very first write of a new database
        ChangeCounter.objects.get_or_create(pk=1)
        counter = ChangeCounter.objects.select_for_update().get(pk=1)
    first = counter.last_seq + 1
    counter.last_seq += count
    counter.save(update_fields=["last_seq", "updated_at"])
    return first


def stamp(instance):
    """Give one written record its place in the change order (and keep the in-memory copy in step).

    Like everything here that takes a number, it must run inside the writer's transaction, last.
    """
    instance.change_seq = stamp_written(type(instance), [instance.pk])
    return instance


def stamp_many(records, model=None, *, bump_version: bool = False) -> int:
    """Lock and stamp several rows of one model (a queryset, or ids with `model`); returns how many.

    `bump_version` is for writes that bypassed a service's version bump (a
    queryset.update(), or a foreign key set to NULL by a deletion).
    """
    if model is None:
        model = records.model
        ids = list(records.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted({int(pk) for pk in records})
    if not ids:
        return 0
    # Row locks before the counter's, as every service takes them: a writer holding the
    # counter never waits for a row, so two writers cannot deadlock.
    bulk.lock_rows(model, ids)
    stamp_written(model, ids, bump_version=bump_version)
    return len(ids)


def stamp_written(model, ids, *, bump_version: bool = False) -> int:
    """Stamp rows this transaction already wrote (so holds locked), in one statement on PostgreSQL.

    Numbers follow the ids' order, from the returned first one (0 for no ids). Like
    `stamp`, it must run last in the writer's transaction.
    """
    ids = sorted({int(pk) for pk in ids})
    if not ids:
        return 0
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        first = _stamp_in_one_statement(connection, model, ids, bump_version)
        if first is not None:
            return first
    first = take_change_seq(len(ids))
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        extra = ", version = t.version + 1, updated_at = %s" if bump_version else ""
        params = [first - 1] + ([timezone.now()] if bump_version else []) + [ids]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET change_seq = %s + s.ord{extra} "
                "FROM unnest(%s::bigint[]) WITH ORDINALITY AS s(id, ord) WHERE t.id = s.id",
                params,
            )
        return first
    # SQLite, the development database: one UPDATE per few hundred rows, numbers by CASE.
    for start in range(0, len(ids), 400):
        batch = ids[start : start + 400]
        numbers = Case(*(When(pk=pk, then=Value(first + start + i)) for i, pk in enumerate(batch)))
        changes = {"change_seq": numbers}
        if bump_version:
            changes["version"] = F("version") + 1
            changes["updated_at"] = timezone.now()
        model.objects.filter(pk__in=batch).update(**changes)
    return first


def _stamp_in_one_statement(connection, model, ids: list[int], bump_version: bool) -> int | None:
    """stamp_written on PostgreSQL as one statement: the counter row updated (so locked until commit,
    as take_change_seq locks it) in a WITH clause, the rows numbered from what it returns; the first
    number. None when the counter row does not exist yet (a new database) or none of the rows does:
    the caller then takes the general path, which creates the counter.

    Three statements (lock, update the counter, number the rows) become one; the locks are taken in
    the same order, the rows (which this transaction wrote) first, then the counter.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("stamp_written() must run inside the writer's transaction")
    table = connection.ops.quote_name(model._meta.db_table)
    counter = connection.ops.quote_name(ChangeCounter._meta.db_table)
    now = timezone.now()
    extra = ", version = t.version + 1, updated_at = %s" if bump_version else ""
    params = [len(ids), now, len(ids)] + ([now] if bump_version else []) + [ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH counter AS (UPDATE {counter} SET last_seq = last_seq + %s, updated_at = %s WHERE id = 1"
            " RETURNING last_seq - %s AS base), "
            f"stamped AS (UPDATE {table} AS t SET change_seq = counter.base + s.ord{extra} "
            "FROM counter, unnest(%s::bigint[]) WITH ORDINALITY AS s(id, ord) WHERE t.id = s.id RETURNING t.id) "
            "SELECT base, (SELECT count(*) FROM stamped) FROM counter",
            params,
        )
        row = cursor.fetchone()
    if row is None or not row[1]:
        return None
    return row[0] + 1


def model_label(model) -> str:
    return model._meta.label_lower


def tombstone_write(instance) -> Tombstone:
    """Record the deletion of `instance` (call in the deleting transaction, before or after the DELETE)."""
    return tombstone_write_many(type(instance), [instance])[0]


def tombstone_write_many(model, records) -> list[Tombstone]:
    """`tombstone_write` for a batch of deleted records of one model, numbered in one go."""
    records = sorted(records, key=lambda record: record.pk)
    if not records:
        return []
    first, now, label = take_change_seq(len(records)), timezone.now(), model_label(model)
    stones = [
        Tombstone(
            model=label,
            object_id=record.pk,
            change_seq=first + offset,
            deleted_at=now,
            team_id=getattr(record, "team_id", None),
            owner_id=getattr(record, "owner_id", None),
        )
        for offset, record in enumerate(records)
    ]
    return Tombstone.objects.bulk_create(stones, batch_size=1000)


# ---- reading the changes ----


class InvalidToken(Exception):
    """A sync token that was not issued by this server (garbage, or tampered with)."""


class ExpiredToken(Exception):
    """A sync token older than the tombstones kept: the client must sync in full again."""


def make_token(seq: int, after_pk: int = 0, *, in_full_sync: bool = False) -> str:
    data = {"s": int(seq), "p": int(after_pk)}
    if in_full_sync:
        data["f"] = 1
    return signing.dumps(data, salt=TOKEN_SALT, compress=False)


def read_token(token: str | None) -> tuple[int, int]:
    """(sequence number, last id among the never-stamped rows) a token stands for; (0, 0) without one.

    Rows written before sync existed all have change_seq 0; a full sync pages through
    them by id, so the token carries the last id while the sequence is still 0.
    """
    if token in (None, ""):
        seq, after_pk = 0, 0
    else:
        try:
            data = signing.loads(token, salt=TOKEN_SALT)
            seq, after_pk, in_full_sync = int(data["s"]), int(data.get("p", 0)), bool(data.get("f"))
        except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidToken from error
        if seq < 0 or after_pk < 0:
            raise InvalidToken
        counter = ChangeCounter.objects.filter(pk=1).values("purged_through_seq").first()
        # A full sync still paging through never-stamped rows builds its copy from current
        # records, so deletions purged meanwhile cannot leave anything stale in it.
        mid_full_sync = in_full_sync and seq == 0
        if counter and seq < counter["purged_through_seq"] and not mid_full_sync:
            raise ExpiredToken
    return seq, after_pk


def tombstones_visible_to(user, model):
    """Tombstones of `model` the user could have seen: the model's own visibility rule on team_id/owner_id."""
    from core.querysets import is_admin

    tombstones = Tombstone.objects.filter(model=model_label(model))
    if user is None or not user.is_authenticated or not user.is_active:
        return tombstones.none()
    if is_admin(user):
        return tombstones
    return tombstones.filter(model.objects.all().visible_q(user))


def changes_since(*, user, model, since: int, limit: int, records=None, after_pk: int = 0):
    """Up to `limit` changes after `since` in one total order: (records, tombstones, next_token, has_more).

    `records` is the visible queryset to read (with its prefetches); it defaults to
    `model.objects.visible_to(user)`.
    """
    # Everything numbered up to the committed counter has committed (the counter's row
    # is written by the last committer), so reading below it in two queries (records,
    # tombstones) cannot skip a number that commits between them.
    ceiling = ChangeCounter.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
    records = records if records is not None else model.objects.visible_to(user)
    after = Q(change_seq__gt=since) | Q(change_seq=since, pk__gt=after_pk) if since == 0 else Q(change_seq__gt=since)
    # One more than asked tells whether more remain.
    rows = list(records.filter(after, change_seq__lte=ceiling).order_by("change_seq", "pk")[: limit + 1])
    stones = list(
        tombstones_visible_to(user, model)
        .filter(change_seq__gt=since, change_seq__lte=ceiling)
        .order_by("change_seq")[: limit + 1]
    )
    merged = sorted(
        [(row.change_seq, 0, row.pk, row) for row in rows] + [(s.change_seq, 1, s.object_id, s) for s in stones],
        key=lambda entry: entry[:3],
    )
    has_more = len(merged) > limit
    merged = merged[:limit]
    if has_more:
        last_seq, _kind, last_pk, _item = merged[-1]
        token = make_token(last_seq, last_pk if last_seq == 0 else 0, in_full_sync=since == 0)
    else:
        # Nothing more to read: the token jumps to the ceiling, so changes the caller
        # may not see are not scanned again on the next pull.
        if ceiling > since:
            token = make_token(ceiling)
        else:
            # Nothing was ever stamped: stay among the unstamped rows, after the last one read.
            token = make_token(since, max([after_pk, *(entry[2] for entry in merged if entry[0] == since)]))
    return (
        [entry[3] for entry in merged if entry[1] == 0],
        [entry[3] for entry in merged if entry[1] == 1],
        token,
        has_more,
    )


def retention_days() -> int:
    return int(getattr(settings, "SYNC_TOMBSTONE_RETENTION_DAYS", 90))


@transaction.atomic
def tombstones_purge(*, now=None) -> int:
    """Delete tombstones past the retention period and remember up to which number they are gone.

    A token below `purged_through_seq` may have missed a deletion, so it answers 410.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days())
    ChangeCounter.objects.get_or_create(pk=1)
    counter = ChangeCounter.objects.select_for_update().get(pk=1)
    old = Tombstone.objects.filter(deleted_at__lt=cutoff)
    highest = old.order_by("-change_seq").values_list("change_seq", flat=True).first()
    if highest is None:
        return 0
    deleted, _by_model = old.filter(change_seq__lte=highest).delete()
    if highest > counter.purged_through_seq:
        counter.purged_through_seq = highest
        counter.save(update_fields=["purged_through_seq", "updated_at"])
    return deleted
