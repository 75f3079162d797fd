"""Data with a known answer: the outcome function the seeders draw deals' results from.

`bench/seed.py`, `manage.py seed_demo` and the tests draw each closed deal's outcome as
won with probability sigmoid(planted_logit(...) + noise), from features the win model can
see: the source, the amount, and how often someone works on the deal (the days between
its activities, which the model sees as "days since the last activity" and activity
counts). Since the true function is known, so is the best AUC any model can reach on
that data: the AUC of the true function's values against the drawn outcomes
(`best_achievable_auc`); the days between activities follow from the deal's id
(`gap_days_for`), so the known value can be recomputed from the database. The benchmark compares the model's holdout AUC with it.

Pure Python: the seeders and the web process may import it.
"""

from __future__ import annotations

import math
import random

# Log-odds added by each source; a referral or a partner brings customers already convinced.
SOURCE_EFFECT = {
    "referral": 1.2,
    "partner": 0.8,
    "event": 0.2,
    "website": 0.0,
    "campaign": -0.3,
    "other": -0.2,
    "cold_call": -1.0,
    "": 0.0,
}
# Log-odds per power of ten of the amount above 10^4.5 (about 31,600): big deals are harder.
AMOUNT_EFFECT = -0.9
# Log-odds per day between activities above 10: a deal nobody works on goes nowhere.
GAP_EFFECT = -0.12
INTERCEPT = 0.0
# Standard deviation of the hidden noise in the log-odds: what no feature explains.
NOISE = 0.5
GAP_CHOICES = (2, 3, 5, 7, 10, 14, 21, 30)


def gap_days_for(deal_pk: int) -> int:
    """The days between a seeded deal's activities, fixed by its id so the known function can be recomputed."""
    return GAP_CHOICES[(deal_pk * 7919) % len(GAP_CHOICES)]


def planted_logit(*, amount: float, source: str, gap_days: float) -> float:
    """The known part of a deal's log-odds of winning."""
    return (
        INTERCEPT
        + SOURCE_EFFECT.get(source, 0.0)
        + AMOUNT_EFFECT * (math.log10(float(amount) + 1.0) - 4.5)
        + GAP_EFFECT * (gap_days - 10)
    )


def draw_won(rng: random.Random, logit: float) -> bool:
    """Won or lost, drawn from the known log-odds plus hidden noise."""
    noisy = logit + rng.gauss(0.0, NOISE)
    return rng.random() < 1.0 / (1.0 + math.exp(-noisy))


def auc(scores, labels) -> float | None:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half); None with one class only."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    positives = sum(1 for _score, label in pairs if label)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return None
    rank_sum = 0.0
    index = 0
    while index < len(pairs):
        end = index
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(1 for _score, label in pairs[index : end + 1] if label)
        index = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def best_achievable_auc(rows) -> float | None:
    """AUC of the known function on (known logit, won) rows: what a perfect model of the features reaches."""
    rows = list(rows)
    return auc([logit for logit, _won in rows], [won for _logit, won in rows])
