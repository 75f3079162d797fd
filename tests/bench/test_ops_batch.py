"""The batch operations of the benchmark at a tiny size: they count right and check exactly once for real.

run_reminders starts a real Celery worker on the test database and Redis, with a real
SMTP server in this process; run_csv_import goes through the import services.
"""

from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from analytics.models import RollupDay
from bench import ops_batch
from bench.results import BenchContext, MemorySampler
from crm.models import Contact, FollowUp
from notifications.models import Notification

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _test_database_url() -> str:
    params = connection.settings_dict
    credentials = quote(params["USER"] or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    return f"postgres://{credentials}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


@pytest.fixture
def ctx(transactional_db, tmp_path):
    """What the runner hands an operation, pointed at the test database (the worker writes where the test reads)."""
    url = _test_database_url()
    return BenchContext(
        scale=0.01,
        database_url=url,
        redis_url=settings.CELERY_BROKER_URL,
        base_url="",
        tokens={},
        connect=lambda: psycopg.connect(url, autocommit=True),
        tmpdir=tmp_path,
        memory=MemorySampler(),
        env={"SITE_URL": settings.SITE_URL},
    )


def _by_op(rows: list[dict]) -> dict[str, dict]:
    return {row["op"]: row for row in rows}


def test_reminders_are_each_delivered_once_by_a_real_worker_and_counted(world, ctx):
    rows = _by_op(ops_batch.run_reminders(ctx, count=20, timeout=60))

    dispatch = rows["reminders_dispatch"]
    assert dispatch["errors"] == 0, dispatch["notes"]
    assert dispatch["count"] == 20
    assert "sent 20, with exactly one notification 20, emails received 20 (20 distinct" in dispatch["notes"]
    assert "0 duplicates, 0 missing" in dispatch["notes"]
    assert 0 < dispatch["wall_s"] < 60
    assert dispatch["throughput"] == pytest.approx(20 / dispatch["wall_s"])
    memory = rows["celery_worker_pss"]
    assert memory["count"] >= 2 and 20 < memory["p95"] < 2000  # the main process and its pool, in MB
    # What it created to measure is gone; the world's own follow-ups are untouched.
    assert not FollowUp.objects.filter(subject__startswith=ops_batch.REMINDER_SUBJECT).exists()
    assert not Notification.objects.exists()
    assert FollowUp.objects.count() == 3


def test_a_duplicate_email_or_a_missing_notification_is_counted_as_an_error(world, ctx):
    ids = ops_batch.reminders_create(3)
    mailbox = ops_batch._Mailbox()
    checks = ops_batch._exactly_once(ids, mailbox)
    assert (checks["sent"], checks["with_one_notification"], checks["emails"]) == (0, 0, 0)
    mailbox.received.update({"<safqa.reminder.1@example>": 2})
    assert ops_batch._exactly_once(ids, mailbox)["other_emails"] == 2  # not one of these reminders'


def test_csv_import_previews_and_imports_the_valid_rows_skips_the_failing_one_then_undoes_it(world, ctx):
    before = Contact.objects.count()
    rows = _by_op(ops_batch.run_csv_import(ctx, rows=120))

    preview, done = rows["csv_import_preview"], rows["csv_import"]
    assert preview["errors"] == 0 and done["errors"] == 0, done["notes"]
    assert preview["count"] == done["count"] == 120
    # world: 2 contacts with email (updated); row 55 has an impossible phone: skipped, handed back.
    for count in ("'created': 117", "'updated': 2", "'skipped': 0", "'errors': 1"):  # the job's summary, read back
        assert count in done["notes"]
    assert "'created': 117, 'updated': 2, 'skipped': 0, 'errors': 1" in preview["notes"]
    assert "skipped rows' CSV: 1 rows with an error column;" in done["notes"]
    assert "status done" in done["notes"] and "imported by manager_a" in done["notes"]
    assert done["throughput"] == pytest.approx(120 / done["wall_s"])
    assert Contact.objects.count() == before


def test_one_row_in_a_hundred_of_the_import_file_fails_by_phone_or_by_email(world, tmp_path):
    path = tmp_path / "contacts.csv"
    ops_batch.import_file(path, 200, team=world.team_a)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[56].split(",")[2:4] == ["bench-import-55@example.test", "05755"]  # row 55: the phone
    assert lines[156].split(",")[2] == "bench-import-155@"  # row 155: the email
    assert [number for number in range(200) if ops_batch._failing_row(number)] == [55, 155]


def test_the_import_file_mixes_arabic_and_english_names_new_rows_and_updates(world, tmp_path):
    path = tmp_path / "contacts.csv"
    updates = ops_batch.import_file(path, 40, team=world.team_a)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(ops_batch.IMPORT_HEADERS)
    assert len(lines) == 41 and updates == 2
    assert any(name in lines[1] for name in ops_batch.FIRST_AR)
    assert any(name in lines[2] for name in ops_batch.FIRST_EN)
    assert sum("bench-import-" in line for line in lines) == 38


def test_full_year_rollup_and_the_incremental_run_after_edits_report_their_days(world, ctx):
    [full] = ops_batch.run_rollup_full(ctx)
    assert (full["op"], full["count"], full["errors"]) == ("rollup_full", 2 * 365, 0)
    assert full["floor_p95"] > 0 and full["ratio"] == pytest.approx(full["p95"] / full["floor_p95"])
    assert full["met"] is None  # S=0.01 is too small to project to S=10

    from crm.models import Activity
    from pipeline.models import Deal, StageChange

    def state():
        figures = list(RollupDay.objects.order_by("team_id", "day").values_list("team_id", "day", "computed_at"))
        deals = list(Deal.objects.order_by("pk").values_list("pk", "stage_id", "closed_at", "version"))
        return figures, deals, Activity.objects.count(), StageChange.objects.count()

    before = state()
    [incremental] = ops_batch.run_rollup_incremental(ctx, edits=20)
    # Every run starts from the same data: the edits and the figures they made dirty are undone.
    assert state() == before
    assert incremental["errors"] == 0, incremental["notes"]
    assert 0 < incremental["count"] <= 2 * 365
    # Half late activities; the world has three open deals, all won (the first kind of deal edit).
    assert "13 edits (10 activity, 3 won;" in incremental["notes"]
    assert f"made {incremental['count']} team-days dirty" in incremental["notes"]
    assert not RollupDay.objects.filter(is_dirty=True).exists()
