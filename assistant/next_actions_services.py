"""Writes behind My day's next best actions: a member dismissing a suggestion, the daily score snapshots."""

import re
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from assistant.planning_models import DealScoreSnapshot, SuggestionDismissal

# The keys assistant.next_actions gives its suggestions, and nothing else (ids of at most 18 digits:
# a bigint holds every one of them).
_ID = "[1-9][0-9]{0,17}"
KEY_REGEX = (
    f"^((overdue|survey):{_ID}|drop:{_ID}:[0-9]{{4}}-W[0-9]{{2}}"
    f"|cold:{_ID}:[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}|nostep:{_ID}:{_ID})$"
)
KEY_PATTERN = re.compile(KEY_REGEX.removeprefix("^").removesuffix("$"))
# Snapshots older than this are of no use: the drop is measured over the last seven days.
SNAPSHOT_KEEP_DAYS = 8


def suggestion_key_is_valid(key: str) -> bool:
    return isinstance(key, str) and len(key) <= 80 and KEY_PATTERN.fullmatch(key) is not None


@transaction.atomic
def suggestion_dismiss(*, key: str, by) -> SuggestionDismissal:
    """Remember that `by` dismissed the suggestion `key`: it no longer shows on their My day. Twice is once."""
    if not suggestion_key_is_valid(key):
        raise ValidationError({"key": _("This is not a suggestion of My day.")})
    dismissal = SuggestionDismissal.objects.filter(user=by, key=key).first()
    if dismissal is not None:
        return dismissal
    dismissal = SuggestionDismissal(user=by, key=key)
    dismissal.full_clean(validate_constraints=False)
    dismissal.save()
    return dismissal


@transaction.atomic
def deal_score_snapshots_take(*, day: date, by=None) -> int:
    """Copy every stored deal score into the snapshot of `day` (UTC) and drop snapshots past their use.

    One INSERT … SELECT whatever the number of deals; taken twice the same day, the second
    copy overwrites the first (the later scores win). Returns the number of rows copied.
    """
    from assistant.models import DealScore

    snapshots = DealScoreSnapshot._meta.db_table
    scores = DealScore._meta.db_table
    with connection.cursor() as cursor:
        # "WHERE true" lets SQLite tell the SELECT's end from the ON CONFLICT clause.
        cursor.execute(
            f"INSERT INTO {snapshots} (deal_id, day, probability, model_version) "
            f"SELECT deal_id, %s, probability, model_version FROM {scores} WHERE true "
            "ON CONFLICT (deal_id, day) DO UPDATE "
            "SET probability = excluded.probability, model_version = excluded.model_version",
            [day],
        )
        copied = cursor.rowcount
    DealScoreSnapshot.objects.filter(day__lt=day - timedelta(days=SNAPSHOT_KEEP_DAYS)).delete()
    return copied
