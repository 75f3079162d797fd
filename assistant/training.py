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

import contextlib
import ctypes
import gc
import itertools
import math
import time
from array import array
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
    from_micros,
    load_histories,
    micros,
    read_micros,
    snapshot_moments,
)
from assistant.models import WinModel, WinModelStatus
from pipeline.models import Deal, DealSource, Stage, StageChange, StageKind

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


def closed_deals() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, close times in µs since the epoch, won) of every closed deal, oldest close first, as arrays.

    Arrays, read with a server-side cursor: a list of 317,000 (id, datetime, bool) tuples held
    ~100 MB at S=10 while it was read, and stayed for the whole training.
    """
    ids, closes, won = array("q"), array("q"), array("b")
    rows = (
        Deal.objects.filter(closed_at__isnull=False, stage__kind__in=[StageKind.WON, StageKind.LOST])
        .order_by("closed_at", "pk")
        .annotate(closed_us=read_micros("closed_at"))
        .values_list("pk", "closed_us", "stage__kind")
        .iterator(chunk_size=20000)
    )
    for pk, closed_at, kind in rows:
        ids.append(pk)
        closes.append(closed_at if isinstance(closed_at, int) else micros(closed_at))
        won.append(kind == StageKind.WON)
    return (
        np.frombuffer(ids, dtype=np.int64) if ids else np.zeros(0, dtype=np.int64),
        np.frombuffer(closes, dtype=np.int64) if closes else np.zeros(0, dtype=np.int64),
        np.frombuffer(won, dtype=np.int8).astype(bool) if won else np.zeros(0, dtype=bool),
    )


def snapshot_capacity(closed: int) -> int:
    """At most how many snapshots the closed deals have: one per stage visit (each change, and the creation)."""
    changes = StageChange.objects.filter(
        deal__closed_at__isnull=False, deal__stage__kind__in=[StageKind.WON, StageKind.LOST]
    ).count()
    return changes + closed


def amount_medians() -> tuple[dict[str, float], float]:
    """Median log10 amount per currency over every deal: the "order of magnitude" each amount is compared with."""
    logs = defaultdict(list)
    for currency, amount in Deal.objects.order_by().values_list("currency", "amount").iterator(chunk_size=20000):
        logs[currency].append(math.log10(float(amount) + 1.0))
    medians = {currency: float(np.median(values)) for currency, values in logs.items()}
    everything = [value for values in logs.values() for value in values]
    return medians, float(np.median(everything)) if everything else 0.0


class Snapshots:
    """The training snapshots of closed deals, in the deals' order: X (raw, unscaled), y, stage baseline, deal.

    Built a chunk of deals at a time straight into one float32 matrix (no array per row, no
    joining copy): at S=10 the 712,000 snapshots take 85 MB, where a list of float64 rows, its
    stacked copy and the train-and-holdout stack for the final fit took several hundred.
    `rows_of(n)` is how many rows the first `n` deals have, so the train and holdout sets are
    views of the same matrix.
    """

    def __init__(
        self, layout: Layout, deals, record: ClosedRecord, stage_probability: dict[int, int], capacity: int = 0
    ):
        width = len(layout.columns)
        # Rows are written straight into one matrix of `capacity` rows (at most one snapshot per
        # stage visit): np.zeros takes its memory from the system zeroed and untouched, so rows
        # never written cost nothing, and no joining copy of the whole matrix is ever made.
        X = np.zeros((capacity, width), dtype=np.float32)
        filled = 0
        labels, baseline, owners, counts = [], [], [], []
        ids, closes, outcomes = deals
        for start in range(0, len(ids), CHUNK):
            stop = start + CHUNK
            chunk = [
                (pk, from_micros(closed), won)
                for pk, closed, won in zip(
                    ids[start:stop].tolist(), closes[start:stop].tolist(), outcomes[start:stop].tolist(), strict=True
                )
            ]
            histories = load_histories([pk for pk, _closed, _won in chunk])
            moments = [snapshot_moments(histories[pk], closed_at) for pk, closed_at, _won in chunk]
            size = sum(len(each) for each in moments)
            if filled + size > len(X):  # more visits than counted (a deal moved meanwhile): grow
                grown = np.zeros((max(filled + size, 2 * len(X)), width), dtype=np.float32)
                grown[:filled] = X[:filled]
                X = grown
            chances = np.empty(size, dtype=np.float64)
            row = filled
            for (pk, _closed_at, _won), deal_moments in zip(chunk, moments, strict=True):
                history = histories[pk]
                for moment in deal_moments:
                    features, context = features_at(history, moment, record)
                    layout.row(features, history.currency, X[row])
                    chances[row - filled] = stage_probability.get(context["stage_id"], 0) / 100.0
                    row += 1
            filled = row
            per_deal = np.fromiter((len(each) for each in moments), dtype=np.int64, count=len(chunk))
            baseline.append(chances)
            labels.append(np.repeat(np.fromiter((won for _pk, _c, won in chunk), dtype=np.int8), per_deal))
            owners.append(np.repeat(np.fromiter((pk for pk, _c, _w in chunk), dtype=np.int64), per_deal))
            counts.append(per_deal)
        self.X = X[:filled]
        self.y = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int8)
        self.baseline = np.concatenate(baseline) if baseline else np.zeros(0)
        self.deal = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        self.counts = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)

    def __len__(self):
        return len(self.y)

    def rows_of(self, deals: int) -> int:
        """How many snapshots the first `deals` deals have."""
        return int(self.counts[:deals].sum())

    def part(self, start: int, stop: int) -> SnapshotRows:
        return SnapshotRows(self.X[start:stop], self.y[start:stop], self.baseline[start:stop], self.deal[start:stop])


class SnapshotRows:
    """A run of consecutive snapshots (views, no copy)."""

    def __init__(self, X, y, baseline, deal):
        self.X, self.y, self.baseline, self.deal = X, y, baseline, deal

    def __len__(self):
        return len(self.y)


def release_free_memory() -> None:
    """Give the heap the history reads freed back to the system before the fits allocate theirs.

    Reading 850,000 snapshots' histories leaves tens of megabytes of freed Python objects in
    glibc's heap; the fits' arrays come from fresh mappings, so without a trim the worker's peak
    is the two added together. Where the C library has no malloc_trim, collecting is all it does.
    """
    gc.collect()
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def _both_outcomes(y) -> bool:
    return len(y) > 0 and int(y.min()) == 0 and int(y.max()) == 1


ROWS_AT_ONCE = 65536  # rows standardized at a time: float64 temporaries of ~15 MB, never of the matrix's size


def fit(X, y, *, in_place: bool = False) -> dict:
    """Standardize, fit the logistic regression; the result is plain JSON-able parameters.

    The mean and standard deviation are summed in float64 a slice of rows at a time, and the
    standardized copy is float32 like X: scikit-learn's lbfgs fits float32 input as it is
    (the coefficients differ from a float64 fit by ~1e-7), where a float64 copy of the 712,000
    snapshots at S=10 took 171 MB and numpy's `(X - mean) / scale` two of them at once.
    With `in_place` (the last use of a float32 X) X itself is standardized: no copy at all.
    """
    rows = len(X)
    mean = X.mean(axis=0, dtype=np.float64)
    squares = np.zeros(X.shape[1])
    for start in range(0, rows, ROWS_AT_ONCE):
        centred = X[start : start + ROWS_AT_ONCE].astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", centred, centred)
    scale = np.sqrt(squares / rows)
    scale[scale == 0] = 1.0
    z = X if in_place and X.dtype == np.float32 else np.empty(X.shape, dtype=np.float32)
    for start in range(0, rows, ROWS_AT_ONCE):
        z[start : start + ROWS_AT_ONCE] = (X[start : start + ROWS_AT_ONCE] - mean) / scale
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(z, y)
    del z
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].astype(np.float64).tolist(),
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
    both = _both_outcomes(y)
    return {
        "auc": round(float(roc_auc_score(y, predicted)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, predicted)), 4) if len(y) else None,
        "calibration": calibration_table(y, predicted),
    }


def brier_comparison(holdout: SnapshotRows, predicted) -> dict:
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
    ids, closes, _won = deals
    layout = Layout.current()
    layout.medians, layout.default_median = amount_medians()
    record = closed_record()
    stage_probability = dict(Stage.objects.values_list("pk", "probability"))
    holdout_count = max(1, int(len(ids) * settings.ASSISTANT_HOLDOUT_SHARE)) if len(ids) else 0
    split = len(ids) - holdout_count
    cut_off = int(closes[split]) if len(ids) else None
    # Deals closed at the very cut-off moment all go to the holdout: the split is by time.
    while split > 0 and closes[split - 1] >= cut_off:
        split -= 1
    fields = {
        "trained_at": now,
        "closed_deals": len(ids),
        "min_closed_deals": min_closed,
        "train_deals": split,
        "holdout_deals": len(ids) - split,
        "cutoff": from_micros(cut_off) if cut_off is not None else None,
    }
    snapshots = Snapshots(layout, deals, record, stage_probability, capacity=snapshot_capacity(len(ids)))
    del record, deals, ids, closes  # only the matrix is needed from here on
    release_free_memory()
    cut = snapshots.rows_of(split)
    train_set, holdout_set = snapshots.part(0, cut), snapshots.part(cut, len(snapshots))
    fields["train_snapshots"] = len(train_set)
    fields["holdout_snapshots"] = len(holdout_set)
    metrics: dict = {"positives": int(train_set.y.sum() + holdout_set.y.sum())}
    evaluable = _both_outcomes(train_set.y) and _both_outcomes(holdout_set.y)
    if evaluable:
        params = fit(train_set.X, train_set.y)
        predicted = sigmoid(logits(params, holdout_set.X))
        metrics["model"] = figures(holdout_set.y, predicted)
        metrics["baseline"] = figures(holdout_set.y, holdout_set.baseline)
        metrics.update(brier_comparison(holdout_set, predicted))
    if fields["closed_deals"] < min_closed or not evaluable:
        status = WinModelStatus.TOO_FEW_DEALS
    elif metrics["beats_baseline"]:
        status = WinModelStatus.IN_USE
    else:
        status = WinModelStatus.NOT_BETTER
    params_json: dict = {}
    if status == WinModelStatus.IN_USE:
        # Judged on the holdout, used fitted on everything: the newest deals teach the most.
        # The matrix's last use: standardized in place (it is not read again).
        params_json = fit(snapshots.X, snapshots.y, in_place=True)
        del snapshots, train_set, holdout_set
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
        del histories
        terms = contributions(params, X) @ group_matrix
        probabilities = np.clip(sigmoid(terms.sum(axis=1) + params["intercept"]), 0.0, 1.0)
        points = terms * POINTS_PER_LOGIT
        # The three groups that moved each deal most, biggest first (ties: the first group), for the whole chunk at once.
        top = np.argsort(-np.abs(points), axis=1, kind="stable")[:, :3]
        top_points = np.take_along_axis(points, top, axis=1).tolist()
        factors = [
            [
                {
                    "code": group_names[j],
                    "points": round(value, 1),
                    "params": factor_params(group_names[j], context, stage_names),
                }
                for j, value in zip(row, values, strict=True)
            ]
            for row, values, context in zip(top.tolist(), top_points, contexts, strict=True)
        ]
        scored += services.deal_scores_write_many(
            deal_ids=chunk,
            probabilities=probabilities.tolist(),
            factors=factors,
            base_probabilities=base,
            model=model,
            scored_at=now,
            by=None,
        )
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
