"""Two Celery queues: a long import on "batch" does not hold back a due reminder on "realtime".

Real workers (`celery -A config worker -Q <queue>`, one process each) on the test Redis, a real
import job and a real reminder delivered to a real SMTP server. The import is made long by the
database itself: the test holds a lock on the contacts table, so the import waits on it, inside its
work, for as long as the test says.
"""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app
from crm.models import FollowUp, ReminderState
from notifications import tasks as notification_tasks
from tests import factories as f
from tests.notifications.conftest import wait_for
from tests.transfers.conftest import csv_bytes
from transfers import services as transfer_services
from transfers import tasks as transfer_tasks
from transfers.models import ImportJob, ImportStatus

REALTIME = [
    "notifications.tasks.reminders_dispatch",
    "notifications.tasks.reminders_send",
    "notifications.tasks.digests_send",
    "webhooks.tasks.webhook_deliver",
    "webhooks.tasks.webhooks_retry_due",
    "surveys.tasks.surveys_send",  # a module's future tasks land with it: routed by pattern
]
BATCH = [
    "transfers.tasks.run_import",
    "transfers.tasks.read_import",
    "analytics.tasks.rollup_kpis_nightly",
    "pipeline.tasks.going_cold_follow_ups_create",
    "core.tasks.sync_tombstones_purge",
    "assistant.tasks.model_train",
    "assistant.tasks.deals_score",
]


def _queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize("name", REALTIME)
def test_reminders_digests_webhooks_and_surveys_go_to_the_realtime_queue(name):
    assert _queue(name) == "realtime"


@pytest.mark.parametrize("name", BATCH)
def test_imports_rollups_training_and_nightly_jobs_go_to_the_batch_queue(name):
    assert _queue(name) == "batch"


def test_every_registered_task_lands_on_a_queue_a_worker_consumes():
    declared = {queue.name for queue in app.conf.task_queues}
    assert declared == {"realtime", "batch"}
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert ours
    assert {name: _queue(name) for name in ours if _queue(name) not in declared} == {}


def _job_status(job_id: int) -> str:
    return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_a_long_import_on_the_batch_worker_does_not_delay_a_due_reminder(world, workers, smtp_server):
    rows = [["First name", "Last name", "Email"]] + [[f"اسم{n}", "عائلة", f"row{n}@example.test"] for n in range(50)]
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="big.csv", data=csv_bytes(rows))
    transfer_services.import_preview(job=job, by=world.rep_a1)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)

    batch = workers.start("batch", queues="batch")
    workers.start("realtime", queues="realtime")

    params = connection.settings_dict
    holder = psycopg.connect(
        host=params.get("HOST") or "127.0.0.1",
        port=params.get("PORT") or 5432,
        user=params["USER"],
        password=params.get("PASSWORD") or None,
        dbname=params["NAME"],
    )
    try:
        # The import cannot write a contact until this transaction ends: it stays running, on the batch worker.
        # (SHARE: writes to contacts wait; reads and the key checks of rows that refer to a contact do not.)
        holder.execute("LOCK TABLE crm_contact IN SHARE MODE")
        transfer_tasks.run_import.delay(job.pk)

        def import_waits_on_the_lock() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> %s",
                    [holder.info.backend_pid],
                )
                return cursor.fetchone()[0] > 0 and _job_status(job.pk) == ImportStatus.RUNNING

        wait_for(import_waits_on_the_lock, timeout=60, what="the import to be running", workers=workers)

        now = timezone.now()
        reminder = f.FollowUpFactory(
            assignee=world.rep_a2,
            team=world.team_a,
            subject="اتصل بالعميل",
            due_at=now + timedelta(hours=1),
            remind_at=now - timedelta(minutes=1),
        )
        notification_tasks.reminders_dispatch.delay()

        def delivered() -> bool:
            state = FollowUp.objects.values_list("reminder_state", flat=True).get(pk=reminder.pk)
            return state == ReminderState.SENT and len(smtp_server.messages) == 1

        # The bound is for correctness, not speed: delivered while the import still runs.
        wait_for(delivered, timeout=60, what="the reminder to be delivered", workers=workers)
        assert _job_status(job.pk) == ImportStatus.RUNNING
        assert batch.poll() is None
        assert smtp_server.messages[0]["To"] == world.rep_a2.email
    finally:
        holder.rollback()
        holder.close()

    wait_for(lambda: _job_status(job.pk) == ImportStatus.DONE, timeout=60, what="the import to finish", workers=workers)
    assert ImportJob.objects.get(pk=job.pk).summary["created"] == 50
