"""What was known about a deal at a given moment: the win model's features.

`features_as_of(deal_ids, moments)` reads, for a batch of deals, their stage history,
activities and follow-ups, and returns for each (deal, moment) pair the features as of
that moment. Nothing dated after the moment is used: the stage is the last one entered
at or before it, activities and follow-ups count only if they existed then, and the
owner's and the customer's win rates count only deals closed before it.

Three fields have no history in Safqa and are read as they are now: the amount, the
currency and the source (they are set when the deal is created and rarely change). The
named competitor is left out on purpose: it is usually typed when the deal is lost, so
using it would let the outcome leak into the features.

Plain Python on purpose (no numpy): the web process never needs it, and the training
module turns these dicts into arrays.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import BigIntegerField, F, Func

from crm.models import Activity, ActivityKind, FollowUp, FollowUpStatus
from pipeline.models import Deal, StageChange, StageKind

DAY = 86400.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
ACTIVITY_KINDS = tuple(ActivityKind.values)
WINDOWS = (7, 30)
# Earlier win rates are smoothed towards one half with this many pseudo-deals, so an
# owner with one won deal is not "100 %".
PRIOR_DEALS = 2


@dataclass
class DealHistory:
    """Everything the features of one deal are computed from, read once per batch."""

    pk: int
    created_at: datetime
    amount: float
    currency: str
    source: str
    owner_id: int
    company_id: int | None
    pipeline_id: int
    stage_id: int
    changes: list[tuple[datetime, int]] = field(default_factory=list)  # (at, to stage), by time
    activities: list[tuple[datetime, str]] = field(default_factory=list)  # (occurred_at, kind), by time
    # (created_at, due_at, ended_at or None); ended_at is when it was done or cancelled
    follow_ups: list[tuple[datetime, datetime, datetime | None]] = field(default_factory=list)

    def stage_at(self, moment: datetime) -> tuple[int, datetime]:
        """The stage the deal was in at `moment`, and when it entered it."""
        current = (self.stage_id, self.created_at)
        for at, stage in self.changes:
            if at > moment:
                break
            current = (stage, at)
        return current


def micros(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch (exact, and ordered as the moments are)."""
    return (moment - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


@dataclass
class ClosedRecord:
    """Deals closed over time, per owner and per company: earlier win rates by bisection.

    Close times and cumulative wins are kept as arrays of machine integers (microseconds
    since the epoch), not lists of datetimes and ints: at S=10 that is ~10 MB instead of ~65.
    """

    times: dict = field(default_factory=dict)  # key -> array of close times (µs), in order
    wins: dict = field(default_factory=dict)  # key -> array of cumulative wins

    def add_sorted(self, key, closed_at: datetime | int, won: bool) -> None:
        """Add a deal closed at `closed_at` (a datetime, or microseconds since the epoch), in close order."""
        times = self.times.get(key)
        if times is None:
            times = self.times[key] = array("q")
            self.wins[key] = array("q")
        wins = self.wins[key]
        times.append(closed_at if isinstance(closed_at, int) else micros(closed_at))
        wins.append((wins[-1] if wins else 0) + (1 if won else 0))

    def before(self, key, moment: datetime) -> tuple[int, int]:
        """(closed, won) among the deals of `key` closed strictly before `moment`."""
        times = self.times.get(key)
        if not times:
            return 0, 0
        index = bisect_left(times, micros(moment))
        return index, (self.wins[key][index - 1] if index else 0)


def closed_record() -> ClosedRecord:
    """Every closed deal's owner, company, close time and outcome, in close order (one query)."""
    record = ClosedRecord()
    rows = (
        Deal.objects.filter(closed_at__isnull=False, stage__kind__in=[StageKind.WON, StageKind.LOST])
        .order_by("closed_at", "pk")
        .annotate(closed_us=read_micros("closed_at"))
        .values_list("owner_id", "company_id", "closed_us", "stage__kind")
        .iterator(chunk_size=20000)
    )
    for owner_id, company_id, closed_at, kind in rows:
        won = kind == StageKind.WON
        record.add_sorted(("owner", owner_id), closed_at, won)
        if company_id is not None:
            record.add_sorted(("company", company_id), closed_at, won)
    return record


def read_micros(name: str):
    """The timestamp column `name` as read for the features.

    On PostgreSQL, whole microseconds since the epoch (bigint): Django's timestamptz loader
    parses each value in Python (a regular expression and a `replace` per value), which was
    half of reading the histories; `as_moment` turns the integer back into the same aware
    datetime. Elsewhere (SQLite), the timestamp itself.
    """
    if connection.vendor == "postgresql":
        return Func(
            F(name), template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint", output_field=BigIntegerField()
        )
    return F(name)


def as_moment(value) -> datetime | None:
    """A value read by `read_micros` as an aware datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return EPOCH + timedelta(microseconds=value)


def load_histories(deal_ids) -> dict[int, DealHistory]:
    """The histories of `deal_ids`: four queries, whatever their number (the ids go as one array)."""
    histories = {
        pk: DealHistory(
            pk=pk,
            created_at=as_moment(created),
            amount=float(amount),
            currency=currency,
            source=source or "",
            owner_id=owner_id,
            company_id=company_id,
            pipeline_id=pipeline_id,
            stage_id=stage_id,
        )
        for pk, created, amount, currency, source, owner_id, company_id, pipeline_id, stage_id in (
            Deal.objects.filter(pk__any=deal_ids)
            .order_by()
            .annotate(created_us=read_micros("created_at"))
            .values_list(
                "pk", "created_us", "amount", "currency", "source", "owner_id", "company_id", "pipeline_id", "stage_id"
            )
        )
    }
    for deal_id, at, stage_id in (
        StageChange.objects.filter(deal__pk__any=deal_ids)
        .order_by("deal_id", "at", "pk")
        .annotate(at_us=read_micros("at"))
        .values_list("deal_id", "at_us", "to_stage_id")
    ):
        histories[deal_id].changes.append((as_moment(at), stage_id))
    for deal_id, at, kind in (
        Activity.objects.filter(deal__pk__any=deal_ids)
        .order_by("deal_id", "occurred_at")
        .annotate(at_us=read_micros("occurred_at"))
        .values_list("deal_id", "at_us", "kind")
    ):
        histories[deal_id].activities.append((as_moment(at), kind))
    for deal_id, created, due, status, completed, updated in (
        FollowUp.objects.filter(deal__pk__any=deal_ids)
        .order_by()
        .annotate(
            created_us=read_micros("created_at"),
            due_us=read_micros("due_at"),
            completed_us=read_micros("completed_at"),
            updated_us=read_micros("updated_at"),
        )
        .values_list("deal_id", "created_us", "due_us", "status", "completed_us", "updated_us")
    ):
        if status == FollowUpStatus.OPEN:
            ended = None
        elif status == FollowUpStatus.DONE:
            ended = completed if completed is not None else updated
        else:  # cancelled: the last change is when
            ended = updated
        histories[deal_id].follow_ups.append((as_moment(created), as_moment(due), as_moment(ended)))
    return histories


def _log_days(seconds: float) -> float:
    return math.log1p(max(seconds, 0.0) / DAY)


def features_at(history: DealHistory, moment: datetime, record: ClosedRecord) -> tuple[dict, dict]:
    """(numeric features, context for the factors' words) of one deal as of `moment`.

    The context keeps the raw values (days, counts, the stage) the words are made of.
    """
    stage_id, entered = history.stage_at(moment)
    in_stage = (moment - entered).total_seconds()
    age = (moment - history.created_at).total_seconds()
    features: dict[str, float] = {
        f"stage:{stage_id}": 1.0,
        f"source:{history.source}": 1.0,
        "days_in_stage": _log_days(in_stage),
        "age_days": _log_days(age),
        "amount_log": math.log10(history.amount + 1.0),
    }
    context: dict = {
        "stage_id": stage_id,
        "days_in_stage": int(in_stage // DAY),
        "age_days": int(age // DAY),
        "amount": history.amount,
        "currency": history.currency,
        "source": history.source,
    }
    last = None
    counts = {(window, kind): 0 for window in WINDOWS for kind in ACTIVITY_KINDS}
    for at, kind in history.activities:
        if at > moment:
            break
        last = at
        for window in WINDOWS:
            if at > moment - timedelta(days=window):
                counts[(window, kind)] += 1
    for (window, kind), number in counts.items():
        features[f"acts{window}:{kind}"] = math.log1p(number)
        context[f"acts{window}:{kind}"] = number
    quiet = (moment - (last or history.created_at)).total_seconds()
    features["days_since_activity"] = _log_days(quiet)
    context["days_since_activity"] = int(quiet // DAY)
    context["any_activity"] = last is not None
    open_count = overdue = 0
    for created, due, ended in history.follow_ups:
        if created <= moment and (ended is None or ended > moment):
            open_count += 1
            if due < moment:
                overdue += 1
    features["open_follow_ups"] = float(min(open_count, 5))
    features["overdue_follow_ups"] = float(min(overdue, 5))
    context["open_follow_ups"] = open_count
    context["overdue_follow_ups"] = overdue
    for name, key in (("owner", ("owner", history.owner_id)), ("company", ("company", history.company_id))):
        closed, won = record.before(key, moment) if key[1] is not None else (0, 0)
        features[f"{name}_win_rate"] = (won + PRIOR_DEALS / 2) / (closed + PRIOR_DEALS)
        context[f"{name}_closed"] = closed
        context[f"{name}_won"] = won
    return features, context


def features_as_of(pairs, *, record: ClosedRecord | None = None) -> list[tuple[dict, dict]]:
    """Features and context of each (deal id, moment) pair, in order."""
    pairs = list(pairs)
    record = record or closed_record()
    histories = load_histories({deal_id for deal_id, _moment in pairs})
    return [features_at(histories[deal_id], moment, record) for deal_id, moment in pairs]


def snapshot_moments(history: DealHistory, closed_at: datetime) -> list[datetime]:
    """Training moments of a closed deal: one in each visit to an open stage, before it closed.

    A snapshot at the very moment of entry would always have zero days in the stage and
    no time for anything to happen; one drawn within the visit (a fixed fraction per deal
    and visit, so a run is repeatable) sees the deal as a rep sees it on an ordinary day.
    """
    entries = list(history.changes)
    if not entries or entries[0][0] > history.created_at + timedelta(minutes=1):
        # No change recorded at creation (older data): the first visit starts when the deal was made.
        entries.insert(0, (history.created_at, history.stage_id))
    else:
        entries[0] = (history.created_at, entries[0][1])
    moments = []
    for index, (start, _stage) in enumerate(entries):
        end = entries[index + 1][0] if index + 1 < len(entries) else closed_at
        if end > closed_at:
            end = closed_at
        if end <= start:
            continue
        fraction = ((history.pk * 2654435761 + index * 40503) % 1000) / 1000.0
        moments.append(start + (end - start) * fraction)
    # The last entry is the close itself (won or lost stage): no visit follows it.
    return moments
