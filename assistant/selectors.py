"""Reads of the win model for the web and the API (stored results only; no scikit-learn)."""

from types import SimpleNamespace

from django.db.models import Subquery
from django.http import Http404

from assistant.models import WinModel, WinModelStatus
from core.querysets import is_admin, scope_of


def may_read_win_model(user) -> bool:
    """The model's card is for managers (of any team) and admins."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return is_admin(user) or getattr(user, "is_manager", False) or bool(scope_of(user).managed_team_ids)


def latest_card_annotations() -> dict:
    """Subqueries naming the latest training run's verdict, read along with a deal (no query of its own)."""
    latest = WinModel.objects.order_by("-trained_at", "-pk")
    return {
        f"latest_win_{name}": Subquery(latest.values(name)[:1])
        for name in ("status", "closed_deals", "min_closed_deals")
    }


def latest_card_of(record) -> SimpleNamespace | None:
    """The latest run's verdict as read by `latest_card_annotations` on `record` (None: never trained)."""
    if getattr(record, "latest_win_status", None) is None:
        return None
    return SimpleNamespace(
        status=record.latest_win_status,
        closed_deals=record.latest_win_closed_deals,
        min_closed_deals=record.latest_win_min_closed_deals,
    )


def win_model_card_for(user) -> WinModel | None:
    """The latest training run, for a manager or admin; anyone else gets a 404, as for a missing page."""
    if not may_read_win_model(user):
        raise Http404
    return WinModel.objects.latest_card()


def card_rows(card: WinModel) -> dict:
    """The card's figures arranged for its tables: headline metrics and the calibration bins of both predictors."""
    metrics = card.metrics or {}
    model, baseline = metrics.get("model") or {}, metrics.get("baseline") or {}

    def points(value):
        return None if value is None else round(value * 100, 1)

    bins = []
    baseline_bins = baseline.get("calibration") or []
    for index, row in enumerate(model.get("calibration") or []):
        base_row = baseline_bins[index] if index < len(baseline_bins) else {}
        bins.append(
            {
                "low": round(row["low"] * 100),
                "high": round(row["high"] * 100),
                "model": {
                    "count": row["count"],
                    "predicted": points(row["predicted"]),
                    "observed": points(row["observed"]),
                },
                "baseline": {
                    "count": base_row.get("count", 0),
                    "predicted": points(base_row.get("predicted")),
                    "observed": points(base_row.get("observed")),
                },
            }
        )
    return {
        "evaluated": bool(model),
        "in_use": card.status == WinModelStatus.IN_USE,
        "model": model,
        "baseline": baseline,
        "bins": bins,
        "brier_difference": metrics.get("brier_difference"),
        "brier_difference_error": metrics.get("brier_difference_error"),
    }
