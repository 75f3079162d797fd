"""Training, evaluating and scoring the win-probability model (worker and commands only).

This module imports numpy and scikit-learn; the web process never imports it (see
tests/assistant/test_win_probability.py, test_web_code_never_imports_scikit_learn). It is called by the Celery task
`assistant.tasks.win_model_train` and by `manage.py win_model_train`.

The model is a logistic regression on standardized features. Why not gradient boosting:
a logistic regression's log-odds are a sum of one term per feature, so the factors shown
beside a score add up exactly to the score's distance from the base rate, and a manager
can check every number; it is calibrated by construction (it minimizes log-loss), which
the holdout's calibration table shows, and it trains in seconds on hundreds of thousands
of snapshots on two cores.

Evaluation is a time-based holdout: the model is fitted on the deals closed before the
cut-off (the close time of the oldest deal in the newest `ASSISTANT_HOLDOUT_SHARE` of
closed deals) and judged on the snapshots of the deals closed after it, against the stage
percentage on the same snapshots. The model is used only when there are at least
`ASSISTANT_MIN_CLOSED_DEALS` closed deals and its holdout Brier score is lower than the
baseline's; it is then fitted again on every closed deal before scoring the open ones.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from assistant import services
from assistant.features import (
    ACTIVITY_KINDS,
    WINDOWS,
    ClosedRecord,
    closed_record,
    features_at,
    load_histories,
    snapshot_moments,
)
from assistant.models import WinModel, WinModelStatus
from pipeline.models import Deal, DealSource, Stage, StageKind

CHUNK = 5000
POINTS_PER_LOGIT = 10  # a factor's points are tenths of a unit of log-odds
CALIBRATION_BINS = 10
NUMERIC = (
    "days_in_stage",
    "age_days",
    "amount_magnitude",
    *(f"acts{window}:{kind}" for window in WINDOWS for kind in ACTIVITY_KINDS),
    "days_since_activity",
    "open_follow_ups",
    "overdue_follow_ups",
    "owner_win_rate",
    "company_win_rate",
)


def factor_group(column: str) -> str:
    """The factor a column belongs to: every stage column is "stage", every source column "source"."""
    return column.split(":", 1)[0] if column.startswith(("stage:", "source:")) else column


class Layout:
    """The model's columns and how a features dict becomes a row."""

    def __init__(self, columns: list[str], medians: dict[str, float], default_median: float):
        self.columns = columns
        self.index = {name: i for i, name in enumerate(columns)}
        self.medians = medians
        self.default_median = default_median

    @classmethod
    def current(cls) -> Layout:
        stages = list(Stage.objects.filter(kind=StageKind.OPEN).order_by("pk").values_list("pk", flat=True))
        sources = ["", *DealSource.values]
        columns = [f"stage:{pk}" for pk in stages] + [f"source:{code}" for code in sources] + list(NUMERIC)
        return cls(columns, {}, 0.0)

    def row(self, features: dict, currency: str, out) -> None:
        for name, value in features.items():
            if name == "amount_log":
                out[self.index["amount_magnitude"]] = value - self.medians.get(currency, self.default_median)
            else:
                position = self.index.get(name)
                if position is not None:  # a stage made after training, a source renamed: no column
                    out[position] = value


def _chunks(items, size=CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def closed_deals() -> list[tuple[int, datetime, bool]]:
    """(id, closed at, won) of every closed deal, oldest close first."""
    return [
        (pk, closed_at, kind == StageKind.WON)
        for pk, closed_at, kind in Deal.objects.filter(
            closed_at__isnull=False, stage__kind__in=[StageKind.WON, StageKind.LOST]
        )
        .order_by("closed_at", "pk")
        .values_list("pk", "closed_at", "stage__kind")
    ]


def amount_medians() -> tuple[dict[str, float], float]:
    """Median log10 amount per currency over every deal: the "order of magnitude" each amount is compared with."""
    logs = defaultdict(list)
    for currency, amount in Deal.objects.order_by().values_list("currency", "amount").iterator(chunk_size=20000):
        logs[currency].append(math.log10(float(amount) + 1.0))
    medians = {currency: float(np.median(values)) for currency, values in logs.items()}
    everything = [value for values in logs.values() for value in values]
    return medians, float(np.median(everything)) if everything else 0.0


class Snapshots:
    """The training snapshots of a set of closed deals: X (raw, unscaled), y, stage baseline, deal index."""

    def __init__(self, layout: Layout, deals, record: ClosedRecord, stage_probability: dict[int, int]):
        rows, labels, baseline, owners = [], [], [], []
        for chunk in _chunks(deals):
            histories = load_histories([pk for pk, _closed, _won in chunk])
            for pk, closed_at, won in chunk:
                history = histories[pk]
                for moment in snapshot_moments(history, closed_at):
                    features, context = features_at(history, moment, record)
                    row = np.zeros(len(layout.columns), dtype=np.float64)
                    layout.row(features, history.currency, row)
                    rows.append(row)
                    labels.append(1 if won else 0)
                    baseline.append(stage_probability.get(context["stage_id"], 0) / 100.0)
                    owners.append(pk)
        width = len(layout.columns)
        self.X = np.vstack(rows) if rows else np.zeros((0, width))
        self.y = np.asarray(labels, dtype=np.int8)
        self.baseline = np.asarray(baseline, dtype=np.float64)
        self.deal = np.asarray(owners, dtype=np.int64)

    def __len__(self):
        return len(self.y)


def fit(X, y) -> dict:
    """Standardize, fit the logistic regression; the result is plain JSON-able parameters."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((X - mean) / scale, y)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def logits(params: dict, X) -> np.ndarray:
    z = (X - np.asarray(params["mean"])) / np.asarray(params["scale"])
    return z @ np.asarray(params["coef"]) + params["intercept"]


def contributions(params: dict, X) -> np.ndarray:
    """Each column's term of the log-odds, per row: they sum, with the intercept, to the row's log-odds."""
    z = (X - np.asarray(params["mean"])) / np.asarray(params["scale"])
    return z * np.asarray(params["coef"])


def sigmoid(values):
    return 1.0 / (1.0 + np.exp(-values))


def calibration_table(y, predicted) -> list[dict]:
    """Ten bins of predicted probability: how many snapshots, the mean prediction, the share won."""
    table = []
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    for low, high in itertools.pairwise(edges):
        inside = (predicted >= low) & ((predicted < high) if high < 1.0 else (predicted <= high))
        count = int(inside.sum())
        table.append(
            {
                "low": round(float(low), 2),
                "high": round(float(high), 2),
                "count": count,
                "predicted": round(float(predicted[inside].mean()), 4) if count else None,
                "observed": round(float(y[inside].mean()), 4) if count else None,
            }
        )
    return table


def figures(y, predicted) -> dict:
    both = len(set(y.tolist())) == 2
    return {
        "auc": round(float(roc_auc_score(y, predicted)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, predicted)), 4) if len(y) else None,
        "calibration": calibration_table(y, predicted),
    }


def brier_comparison(holdout: Snapshots, predicted) -> dict:
    """Is the model's Brier score lower than the baseline's by more than chance?

    Per holdout deal, the mean of (model error² − baseline error²) over its snapshots (a
    deal's snapshots are not independent, so the deal is the unit); the model beats the
    baseline when the mean difference is below zero by at least two standard errors.
    """
    y = holdout.y.astype(np.float64)
    difference = (predicted - y) ** 2 - (holdout.baseline - y) ** 2
    _deals, inverse = np.unique(holdout.deal, return_inverse=True)
    per_deal = np.bincount(inverse, weights=difference) / np.bincount(inverse)
    mean = float(per_deal.mean())
    error = float(per_deal.std(ddof=1) / math.sqrt(len(per_deal))) if len(per_deal) > 1 else float("inf")
    return {
        "brier_difference": round(mean, 5),
        "brier_difference_error": round(error, 5),
        "beats_baseline": bool(mean + 2 * error < 0),
    }


def _next_version() -> int:
    return (WinModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1


def train(*, now: datetime | None = None, min_closed: int | None = None) -> WinModel:
    """Train, evaluate on the time-based holdout, record the run; the card says whether the model is used."""
    started = time.perf_counter()
    now = now or timezone.now()
    min_closed = settings.ASSISTANT_MIN_CLOSED_DEALS if min_closed is None else min_closed
    deals = closed_deals()
    layout = Layout.current()
    layout.medians, layout.default_median = amount_medians()
    record = closed_record()
    stage_probability = dict(Stage.objects.values_list("pk", "probability"))
    holdout_count = max(1, int(len(deals) * settings.ASSISTANT_HOLDOUT_SHARE)) if deals else 0
    split = len(deals) - holdout_count
    cutoff = deals[split][1] if deals else None
    # Deals closed at the very cut-off moment all go to the holdout: the split is by time.
    while split > 0 and deals[split - 1][1] >= cutoff:
        split -= 1
    train_deals, holdout_deals = deals[:split], deals[split:]
    fields = {
        "trained_at": now,
        "closed_deals": len(deals),
        "min_closed_deals": min_closed,
        "train_deals": len(train_deals),
        "holdout_deals": len(holdout_deals),
        "cutoff": cutoff,
    }
    train_set = Snapshots(layout, train_deals, record, stage_probability)
    holdout_set = Snapshots(layout, holdout_deals, record, stage_probability)
    fields["train_snapshots"] = len(train_set)
    fields["holdout_snapshots"] = len(holdout_set)
    metrics: dict = {"positives": int(train_set.y.sum() + holdout_set.y.sum())}
    evaluable = len(set(train_set.y.tolist())) == 2 and len(set(holdout_set.y.tolist())) == 2
    if evaluable:
        params = fit(train_set.X, train_set.y)
        predicted = sigmoid(logits(params, holdout_set.X))
        metrics["model"] = figures(holdout_set.y, predicted)
        metrics["baseline"] = figures(holdout_set.y, holdout_set.baseline)
        metrics.update(brier_comparison(holdout_set, predicted))
    if len(deals) < min_closed or not evaluable:
        status = WinModelStatus.TOO_FEW_DEALS
    elif metrics["beats_baseline"]:
        status = WinModelStatus.IN_USE
    else:
        status = WinModelStatus.NOT_BETTER
    params_json: dict = {}
    if status == WinModelStatus.IN_USE:
        # Judged on the holdout, used fitted on everything: the newest deals teach the most.
        X = np.vstack([train_set.X, holdout_set.X])
        y = np.concatenate([train_set.y, holdout_set.y])
        params_json = fit(X, y)
        params_json["base_rate"] = float(sigmoid(params_json["intercept"]))
    params_json.update(
        {
            "columns": layout.columns,
            "medians": layout.medians,
            "default_median": layout.default_median,
            "points_per_logit": POINTS_PER_LOGIT,
        }
    )
    fields["status"] = status
    fields["params"] = params_json
    fields["metrics"] = metrics
    fields["training_seconds"] = round(time.perf_counter() - started, 3)
    return services.win_model_record(version=_next_version(), by=None, **fields)


def score_open_deals(model: WinModel, *, now: datetime | None = None) -> int:
    """Write every open deal's probability and top three factors; with no model in use, remove the scores.

    Returns how many deals were scored.
    """
    now = now or timezone.now()
    if not model.in_use:
        services.deal_scores_clear(by=None)
        return 0
    params = model.params
    layout = Layout(params["columns"], params["medians"], params["default_median"])
    groups = [factor_group(column) for column in layout.columns]
    group_names = sorted(set(groups))
    group_matrix = np.zeros((len(layout.columns), len(group_names)))
    for position, group in enumerate(groups):
        group_matrix[position, group_names.index(group)] = 1.0
    base = params["base_rate"]
    record = closed_record()
    open_ids = list(Deal.objects.open().order_by("pk").values_list("pk", flat=True))
    stage_names = {pk: (name, name_en) for pk, name, name_en in Stage.objects.values_list("pk", "name", "name_en")}
    scored = 0
    for chunk in _chunks(open_ids):
        histories = load_histories(chunk)
        X = np.zeros((len(chunk), len(layout.columns)))
        contexts = []
        for i, pk in enumerate(chunk):
            history = histories[pk]
            features, context = features_at(history, now, record)
            layout.row(features, history.currency, X[i])
            contexts.append(context)
        terms = contributions(params, X) @ group_matrix
        probabilities = sigmoid(terms.sum(axis=1) + params["intercept"])
        rows = []
        for i, pk in enumerate(chunk):
            points = terms[i] * POINTS_PER_LOGIT
            top = np.argsort(-np.abs(points), kind="stable")[:3]
            factors = [
                {
                    "code": group_names[j],
                    "points": round(float(points[j]), 1),
                    "params": factor_params(group_names[j], contexts[i], stage_names),
                }
                for j in top
            ]
            rows.append(
                {
                    "deal_id": pk,
                    "probability": min(max(float(probabilities[i]), 0.0), 1.0),
                    "base_probability": base,
                    "factors": factors,
                }
            )
        scored += services.deal_scores_write(rows=rows, model=model, scored_at=now, by=None)
    services.deal_scores_prune(keep_version=model.version, by=None)
    return scored


def factor_params(code: str, context: dict, stage_names: dict) -> dict:
    """The raw values a factor's words are made of (rendered at display time, in the reader's language)."""
    if code == "stage":
        name, name_en = stage_names.get(context["stage_id"], ("", ""))
        return {"name": name, "name_en": name_en}
    if code == "source":
        return {"source": context["source"]}
    if code == "amount_magnitude":
        return {"amount": f"{context['amount']:.2f}", "currency": context["currency"]}
    if code in ("days_in_stage", "age_days"):
        return {"days": context[code]}
    if code == "days_since_activity":
        return {"days": context[code], "any": context["any_activity"]}
    if code.startswith("acts"):
        window, kind = code[4:].split(":")
        return {"count": context[code], "window": int(window), "kind": kind}
    if code in ("open_follow_ups", "overdue_follow_ups"):
        return {"count": context[code]}
    if code in ("owner_win_rate", "company_win_rate"):
        prefix = code.split("_")[0]
        return {"closed": context[f"{prefix}_closed"], "won": context[f"{prefix}_won"]}
    return {}


def train_and_score(*, now: datetime | None = None) -> WinModel:
    """The nightly run: train, record the card, score the open deals with the model if it is used."""
    model = train(now=now)
    score_open_deals(model, now=now)
    return model
