"""Writes of the assistant's win model: the worker records each training run and the scores.

No heavy imports here: scikit-learn lives in assistant/training.py, which calls these.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from assistant.models import DealScore, WinModel


@transaction.atomic
def win_model_record(*, version: int, by=None, **fields) -> WinModel:
    """Record one training run (its parameters, holdout figures and whether it is used)."""
    model = WinModel(version=version, **fields)
    model.full_clean()
    model.save()
    return model


def _probability(value: float) -> Decimal:
    return Decimal(str(round(min(max(value, 0.0), 1.0), 4)))


@transaction.atomic
def deal_scores_write(*, rows: list[dict], model: WinModel, scored_at: datetime, by=None) -> int:
    """Insert or replace the scores of a batch of deals: [{deal_id, probability, base_probability, factors}]."""
    scores = [
        DealScore(
            deal_id=row["deal_id"],
            probability=_probability(row["probability"]),
            base_probability=_probability(row["base_probability"]),
            factors=row["factors"],
            model_version=model.version,
            scored_at=scored_at,
        )
        for row in rows
    ]
    DealScore.objects.bulk_create(
        scores,
        update_conflicts=True,
        unique_fields=["deal"],
        update_fields=["probability", "base_probability", "factors", "model_version", "scored_at"],
        batch_size=2000,
    )
    return len(scores)


@transaction.atomic
def deal_scores_prune(*, keep_version: int, by=None) -> int:
    """Remove the scores of deals no longer open (not scored by the run of `keep_version`)."""
    deleted, _ = DealScore.objects.exclude(model_version=keep_version).delete()
    return deleted


@transaction.atomic
def deal_scores_clear(*, by=None) -> int:
    """No model in use: every deal shows its stage percentage again."""
    deleted, _ = DealScore.objects.all().delete()
    return deleted
