"""The assistant's batch work, run by the worker (never by the web process)."""

from celery import shared_task


@shared_task(name="assistant.tasks.win_model_train")
def win_model_train() -> int:
    """Nightly: train the win model on the team's closed deals, then score every open deal.

    scikit-learn is imported here, inside the task, so the web process that only queues
    or never sees this task does not load it. Safe to run twice: each run records a new
    version and replaces every score.
    """
    from assistant.training import train_and_score

    return train_and_score().version


# My day's score snapshots and the sales forecast: their tasks live in planning_tasks.py,
# imported here so the worker's autodiscovery (which reads assistant.tasks) registers them.
from assistant.planning_tasks import deal_score_snapshots_take, sales_forecasts_refresh  # noqa: E402, F401
