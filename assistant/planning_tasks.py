"""The worker's part of My day's next best actions and of the sales forecast (imported by assistant.tasks)."""

from celery import shared_task


@shared_task(name="assistant.tasks.sales_forecasts_refresh")
def sales_forecasts_refresh() -> int:
    """Nightly: forecast every team's won value per currency and store it with its backtest error.

    statsmodels is imported inside assistant.forecast's fitting function, so only the worker
    loads it. Safe to run twice: each team's forecasts are replaced, not added.
    """
    from assistant.forecast import refresh_all

    return refresh_all()


@shared_task(name="assistant.tasks.deal_score_snapshots_take")
def deal_score_snapshots_take() -> int:
    """Daily, after the nightly scoring: copy today's deal scores, so My day can tell which fell this week."""
    from django.utils import timezone

    from assistant.next_actions_services import deal_score_snapshots_take as take

    return take(day=timezone.now().date())
