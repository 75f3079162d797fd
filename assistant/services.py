"""Writes of the assistant's win model: the worker records each training run and the scores.

No heavy imports here: scikit-learn lives in assistant/training.py, which calls these.
"""

import json
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from assistant.models import DealScore, WinModel


@transaction.atomic
def win_model_record(*, version: int, by=None, **fields) -> WinModel:
    """Record one training run (its parameters, holdout figures and whether it is used)."""
    model = WinModel(version=version, **fields)
    model.full_clean()
    model.save()
    return model


def _probability(value: float) -> Decimal:
    return Decimal(str(_rounded(value)))


def _rounded(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)


@transaction.atomic
def deal_scores_write(*, rows: list[dict], model: WinModel, scored_at: datetime, by=None) -> int:
    """Insert or replace the scores of a batch of deals: [{deal_id, probability, base_probability, factors}]."""
    return deal_scores_write_many(
        deal_ids=[row["deal_id"] for row in rows],
        probabilities=[row["probability"] for row in rows],
        base_probabilities=[row["base_probability"] for row in rows],
        factors=[row["factors"] for row in rows],
        model=model,
        scored_at=scored_at,
        by=by,
    )


@transaction.atomic
def deal_scores_write_many(
    *,
    deal_ids: list[int],
    probabilities: list[float],
    base_probabilities: list[float] | float,
    factors: list[list[dict]],
    model: WinModel,
    scored_at: datetime,
    by=None,
) -> int:
    """Insert or replace the scores of a batch of deals, given column by column (the worker's scoring).

    `base_probabilities` is one value per deal or one for all. On PostgreSQL the batch is
    copied (COPY) into a temporary table and written by one INSERT … SELECT … ON CONFLICT DO
    UPDATE: no model instance, Decimal or quoted SQL literal per score (the ORM's bulk upsert
    spent most of the scoring run on those). Elsewhere (SQLite) the ORM's bulk upsert.
    """
    if not deal_ids:
        return 0
    if isinstance(base_probabilities, int | float):
        base_probabilities = [base_probabilities] * len(deal_ids)
    if not (len(deal_ids) == len(probabilities) == len(base_probabilities) == len(factors)):
        raise ValueError("deal_scores_write_many: the columns differ in length")
    if connection.vendor != "postgresql":
        DealScore.objects.bulk_create(
            [
                DealScore(
                    deal_id=deal_id,
                    probability=_probability(probability),
                    base_probability=_probability(base),
                    factors=deal_factors,
                    model_version=model.version,
                    scored_at=scored_at,
                )
                for deal_id, probability, base, deal_factors in zip(
                    deal_ids, probabilities, base_probabilities, factors, strict=True
                )
            ],
            update_conflicts=True,
            unique_fields=["deal"],
            update_fields=["probability", "base_probability", "factors", "model_version", "scored_at"],
            batch_size=2000,
        )
        return len(deal_ids)
    table = connection.ops.quote_name(DealScore._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE assistant_score_batch"
            " (deal_id bigint, probability numeric(5, 4), base_probability numeric(5, 4), factors jsonb)"
        )
        with cursor.cursor.copy(
            "COPY assistant_score_batch (deal_id, probability, base_probability, factors) FROM STDIN"
        ) as copy:
            for deal_id, probability, base, deal_factors in zip(
                deal_ids, probabilities, base_probabilities, factors, strict=True
            ):
                copy.write_row((deal_id, _rounded(probability), _rounded(base), json.dumps(deal_factors)))
        cursor.execute(
            f"""
            INSERT INTO {table} (deal_id, probability, base_probability, factors, model_version, scored_at)
            SELECT deal_id, probability, base_probability, factors, %s, %s FROM assistant_score_batch
            ON CONFLICT (deal_id) DO UPDATE SET
                probability = EXCLUDED.probability,
                base_probability = EXCLUDED.base_probability,
                factors = EXCLUDED.factors,
                model_version = EXCLUDED.model_version,
                scored_at = EXCLUDED.scored_at
            """,
            [model.version, scored_at],
        )
        cursor.execute("DROP TABLE assistant_score_batch")
    return len(deal_ids)


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
