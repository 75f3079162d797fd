"""The Celery app. Settings come from Django settings under the CELERY_ namespace.

The beat schedule is declared here, in one place; each entry says when and why.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("safqa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work. Entries are added by the issues that bring the tasks (reminders,
# going-cold alerts, nightly KPI rollups); keep every entry commented.
app.conf.beat_schedule = {
    # Nightly KPI rollups, at 01:00 in each team's own time zone: one entry for all
    # teams, run every 15 minutes (UTC quarter hours are local quarter hours in every
    # zone whose offset is a multiple of 15 minutes); each run computes yesterday for
    # the teams whose clock has passed 01:00 and that have not rolled it up yet, plus
    # any day an edit marked dirty. A run with nothing due costs two queries; a run
    # still queued when the next one is due is dropped (the next one does its work).
    "analytics-rollup-kpis": {
        "task": "analytics.tasks.rollup_kpis_nightly",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 14 * 60},
    },
    # Reminders: every minute the dispatcher claims the follow-up reminders that are due
    # (and those whose delivery was lost) and queues one delivery each. The database
    # decides what is due, so a missed or doubled run loses or repeats nothing; a run
    # still queued after a minute is dropped, the next one does its work.
    "reminders-dispatch": {
        "task": "notifications.tasks.reminders_dispatch",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # Morning digest: every 15 minutes, the members for whom it is now 08:00 (DIGEST_HOUR)
    # in their own time zone get theirs (15 minutes: some zones are 30 or 45 minutes off
    # the hour). Once a day per member, recorded in the database.
    "digests-send": {
        "task": "notifications.tasks.digests_send",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 14 * 60},
    },
    # Going cold: nightly at 01:30 UTC (04:30 in Riyadh, 05:30 in Dubai), before anyone's
    # working day: a follow-up for each customer with an open deal and no contact for
    # their team's going-cold days, due at 09:00 in the owner's time zone.
    "going-cold-follow-ups": {
        "task": "pipeline.tasks.going_cold_follow_ups_create",
        "schedule": crontab(hour=1, minute=30),
    },
    # Win probability: nightly at 03:00 UTC (06:00 in Riyadh, 07:00 in Dubai), after the KPI rollups
    # and the going-cold follow-ups, before anyone's working day: train the win model on the deals
    # closed so far, judge it on the newest ones against the stage percentage, and rewrite every open
    # deal's score (or remove the scores when the model is not used). Each run records a new model
    # version; a doubled run only repeats the work. Heavy (scikit-learn): the worker runs it, never web.
    "assistant-win-model-train": {
        "task": "assistant.tasks.win_model_train",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    # Score snapshots for My day: daily at 04:00 UTC, an hour after the win model has rewritten the
    # scores, each open deal's score is copied into today's snapshot (one INSERT … SELECT; a second
    # run the same day overwrites it) and snapshots older than eight days are dropped. My day's
    # "probability fell this week" compares the score with the oldest snapshot of the last seven days.
    "assistant-deal-score-snapshots": {
        "task": "assistant.tasks.deal_score_snapshots_take",
        "schedule": crontab(hour=4, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    # Sales forecast: nightly at 03:30 UTC (06:30 in Riyadh), each team's won value per month and
    # currency is forecast for the next three months with exponential smoothing (statsmodels, worker
    # only) and judged on the last six complete months; each team's stored forecasts are replaced,
    # so a doubled run changes nothing. Nightly rather than monthly: a deal closed late, or history
    # imported, shows the next morning.
    "assistant-sales-forecasts-refresh": {
        "task": "assistant.tasks.sales_forecasts_refresh",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
    # Sync tombstones: nightly at 02:15 UTC, deletions older than SYNC_TOMBSTONE_RETENTION_DAYS
    # (default 90) are dropped and the highest dropped number is recorded; a sync token
    # below it answers 410 and its client syncs in full again. Running twice drops nothing more.
    "sync-tombstones-purge": {
        "task": "core.tasks.sync_tombstones_purge",
        "schedule": crontab(hour=2, minute=15),
    },
    # Webhooks: every minute, queue the deliveries whose retry time has come (and any
    # whose queue message was lost, or that ran without Redis, where countdowns do not
    # exist). The delivery row decides what is due, so a doubled run sends nothing twice.
    "webhooks-retry-due": {
        "task": "webhooks.tasks.webhooks_retry_due",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # After-sale surveys: hourly at :20, the won deals whose pipeline's survey day has come
    # (per template: send_after_days after the win) get it, and survey emails whose queue
    # message was lost are queued again. A survey is unique per deal and template in the
    # database, so a doubled run sends nothing twice.
    "surveys-send-due": {
        "task": "surveys.tasks.surveys_send_due",
        "schedule": crontab(minute=20),
        "options": {"expires": 55 * 60},
    },
}
