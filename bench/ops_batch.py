"""The benchmark's batch operations: KPI rollups (full year, incremental), the CSV contacts import, and
the dispatch of due reminders through a real Celery worker.

Each `run_<name>(ctx)` runs in the runner's process, with Django set up against the bench database,
and returns result dicts in the schema of `bench/results.py`. These operations run once (there is no
stream of requests to take percentiles of), so p50 = p95 = p99 = the one wall time, in seconds. What
an operation creates only to be measured (the import's rows, the due reminders) is removed again
afterwards, so running the suite twice measures the same thing twice; the incremental rollup's
edits stay (closed deals, late activities), as edits do.
"""

import contextlib
import csv
import email.parser
import email.policy
import io
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import psutil

from bench.results import now, result, timed_result

BASE_DIR = Path(__file__).resolve().parents[1]

# ---- KPI rollups -----------------------------------------------------------------------------------

ROLLUP_DAYS = 365
ROLLUP_EDITS = 1_000
ROLLUP_FULL_TARGET_S = 60.0
ROLLUP_INCREMENTAL_TARGET_S = 5.0
# The targets are set at S=10; from S=1 up a run is projected linearly (the work is about linear in rows).
TARGET_SCALE = 10


def _year_pairs() -> list:
    """(team, day) for the 365 days before today, in each team's own time zone."""
    from django.utils import timezone

    from accounts.models import Team
    from analytics.days import local_date

    moment = timezone.now()
    pairs = []
    for team in Team.objects.order_by("pk"):
        last = local_date(team.time_zone, moment) - timedelta(days=1)
        pairs += [(team, last - timedelta(days=offset)) for offset in range(ROLLUP_DAYS)]
    return pairs


def _rollup_year(pairs: list) -> None:
    """The backfill of `manage.py rollup_kpis --from … --to …`: every team over its own 365 days."""
    from analytics import services

    days_by_team: dict = {}
    for team, day in pairs:
        days_by_team.setdefault(team, []).append(day)
    teams_by_range: dict = {}
    for team, days in days_by_team.items():
        teams_by_range.setdefault((min(days), max(days)), []).append(team)
    for (first, last), teams in teams_by_range.items():
        services.rollup_range(teams=teams, day_from=first, day_to=last)


def _rollup_floor(ctx, pairs: list, connection=None) -> float:
    """The same figures for the same (team, day) pairs from hand-written SQL through psycopg: the rollup's
    set-based SELECTs (analytics/rollup_sql.py) into temporary tables, in one transaction, rolled back.

    No Django, no fill-state bookkeeping, nothing written to the figure tables: what is left of the
    rollup's time is what the database needs to compute the figures. `connection`: a psycopg connection
    already in a transaction (then a savepoint, rolled back), to see that transaction's uncommitted edits.
    """
    from analytics import rollup_sql

    if not pairs:
        return 0.0
    if connection is not None:
        start = now()
        with connection.transaction(force_rollback=True), connection.cursor() as cursor:
            rollup_sql.compute(cursor, pairs)
        return now() - start
    with ctx.connect() as own:
        return _rollup_floor(ctx, pairs, own)


def _figure_rows(pairs: list) -> int:
    from django.apps import apps

    from analytics.figures import TABLES

    days = {day for _team, day in pairs}
    teams = {team.pk for team, _day in pairs}
    return sum(
        apps.get_model("analytics", table)
        .objects.filter(team_id__in=teams, day__gte=min(days), day__lte=max(days))
        .count()
        for table in TABLES
    )


def _projected(ctx, seconds: float) -> float | None:
    """`seconds` at S=10, linear in the scale from S ≥ 1; None below, where fixed costs would dominate."""
    if ctx.scale < 1:
        return None
    return seconds * TARGET_SCALE / ctx.scale if ctx.scale < TARGET_SCALE else seconds


def _projection_note(projected: float | None) -> str:
    if projected is None:
        return f"too small a scale to project to S={TARGET_SCALE}"
    return f"linear projection to S={TARGET_SCALE}: {projected:.1f} s"


def run_rollup_full(ctx) -> list[dict]:
    """The nightly rollup over a full year: 365 days of every team recomputed (the `rollup_kpis` backfill)."""
    pairs = _year_pairs()
    start = now()
    _rollup_year(pairs)
    wall = now() - start
    floor = _rollup_floor(ctx, pairs)
    projected = _projected(ctx, wall)
    return [
        timed_result(
            "rollup_full",
            wall,
            count=len(pairs),
            throughput_unit="team-days/s",
            floor_p95=floor,
            target=f"≤ {ROLLUP_FULL_TARGET_S:.0f} s at S={TARGET_SCALE}",
            met=None if projected is None else projected <= ROLLUP_FULL_TARGET_S,
            notes=(
                f"{len(pairs):,} team-days, {_figure_rows(pairs):,} figure rows; {_projection_note(projected)}; "
                "floor: the same SELECTs via psycopg into temporary tables, no bookkeeping or writes"
            ),
        )
    ]


def _rollup_edits(count: int, *, seed: int = 7) -> Counter:
    """`count` edits through the services, of the kinds that make past days dirty; returns how many of each.

    Half are activities logged late (one to fourteen days back), a fifth deals won and a tenth
    deals lost (their creation day's figures change), a tenth deals reopened (their closing
    day's), a tenth moves between open stages dated one to three days back (every day since).
    The board's rep (bench-rep-01) keeps their open deals.
    """
    from django.utils import timezone

    from accounts.models import Membership, Role
    from bench.seed import BOARD_REP_USERNAME
    from crm import services as crm_services
    from crm.models import ActivityKind, Contact
    from pipeline import services as pipeline_services
    from pipeline.models import Deal, LossReason, Stage, StageKind

    rng = random.Random(seed)
    moment = timezone.now()
    members = list(
        Membership.objects.filter(user__role=Role.REP, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    )
    contacts = {}
    for member in members:
        if member.team_id not in contacts:
            contacts[member.team_id] = list(Contact.objects.filter(team_id=member.team_id).order_by("pk")[:200])
    deals = Deal.objects.exclude(owner__username=BOARD_REP_USERNAME).select_related("stage", "owner")
    open_deals = list(deals.filter(stage__kind=StageKind.OPEN).order_by("?")[: count // 2])
    closed_deals = list(deals.exclude(stage__kind=StageKind.OPEN).order_by("?")[: count // 10])
    stages = {}
    for stage in Stage.objects.order_by("order", "pk"):
        stages.setdefault((stage.pipeline_id, stage.kind), []).append(stage)
    reason = LossReason.objects.order_by("pk").first()
    done = Counter()
    plan = ["activity"] * (count // 2) + ["won"] * (count // 5) + ["lost"] * (count // 10)
    plan += ["reopened"] * (count // 10) + ["moved back-dated"] * (count - len(plan) - count // 10)
    for kind in plan:
        if kind == "activity":
            member = rng.choice(members)
            crm_services.activity_log(
                by=member.user,
                kind=rng.choice([ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL, ActivityKind.NOTE]),
                occurred_at=moment - timedelta(days=rng.randint(1, 14), minutes=rng.randint(0, 600)),
                contact=rng.choice(contacts[member.team_id]) if contacts[member.team_id] else None,
                subject="bench: logged late",
            )
        elif kind in ("won", "lost", "moved back-dated") and open_deals:
            deal = open_deals.pop()
            if kind == "won":
                pipeline_services.deal_mark_won(deal=deal, by=deal.owner)
            elif kind == "lost" and reason is not None:
                pipeline_services.deal_mark_lost(deal=deal, by=deal.owner, loss_reason=reason)
            elif kind == "lost":
                continue
            else:
                others = [s for s in stages[(deal.pipeline_id, StageKind.OPEN)] if s.pk != deal.stage_id]
                entered = deal.stage_entered_at or deal.created_at
                at = max(moment - timedelta(days=rng.randint(1, 3)), entered + timedelta(minutes=1))
                pipeline_services.deal_move_to_stage(deal=deal, stage=rng.choice(others), by=deal.owner, at=at)
        elif kind == "reopened" and closed_deals:
            deal = closed_deals.pop()
            stage = stages[(deal.pipeline_id, StageKind.OPEN)][0]
            pipeline_services.deal_move_to_stage(deal=deal, stage=stage, by=deal.owner)
        else:
            continue
        done[kind] += 1
    return done


def run_rollup_incremental(ctx, *, edits: int = ROLLUP_EDITS) -> list[dict]:
    """The nightly run after 1,000 edits: only the days the edits made dirty are recomputed (`rollup_due`).

    The edits, the floor and the rollup run in one transaction that is rolled back at the end: the deals
    won, lost, moved and reopened, the activities logged late and the figures recomputed are all undone,
    so every run (and every other operation after it) starts from the same data.
    """
    from django.db import connection, transaction

    from analytics import services
    from analytics.models import RollupDay

    pairs = _year_pairs()
    computed = RollupDay.objects.filter(computed_at__isnull=False, is_dirty=False)
    if computed.count() < len(pairs):
        _rollup_year(pairs)  # the full run did not happen in this suite: the starting point, untimed
    with transaction.atomic():
        start = now()
        made = _rollup_edits(edits)
        editing = now() - start
        due = services.due_days()
        connection.ensure_connection()
        floor = _rollup_floor(ctx, due, connection.connection)
        start = now()
        done = services.rollup_due()
        wall = now() - start
        transaction.set_rollback(True)  # the edits and their figures undone: the next run starts alike
    projected = _projected(ctx, wall)
    kinds = ", ".join(f"{n} {kind}" for kind, n in made.most_common())
    return [
        timed_result(
            "rollup_incremental",
            wall,
            count=len(done),
            throughput_unit="team-days/s",
            floor_p95=floor,
            errors=len(due) - len(done),
            target=f"≤ {ROLLUP_INCREMENTAL_TARGET_S:.0f} s at S={TARGET_SCALE}",
            met=None if projected is None else len(done) == len(due) and projected <= ROLLUP_INCREMENTAL_TARGET_S,
            notes=(
                f"{sum(made.values())} edits ({kinds}; {editing:.1f} s, untimed) made {len(due)} team-days "
                f"dirty, {len(done)} recomputed; {_projection_note(projected)}"
            ),
        )
    ]


# ---- CSV import ------------------------------------------------------------------------------------

IMPORT_ROWS = 100_000
IMPORT_TARGET_ROWS_S = 5_000
# One row in ten updates a contact the importing manager may edit (matched by email).
IMPORT_UPDATE_SHARE = 10
# One row in a hundred fails (issue 20): half an impossible phone number, half an invalid email.
# The import is confirmed with "import the valid rows and skip the failing ones"; the failing rows
# come back in the skipped-rows CSV (errors.csv).
IMPORT_FAILING_EVERY = 100
IMPORT_FAILING_AT = 55  # the row numbers n with n % 100 == 55: never an update row (n % 10 == 0)


def _failing_row(number: int) -> str | None:
    """ "phone" or "email" when row `number` of the bench file is a failing one, else None."""
    if number % IMPORT_FAILING_EVERY != IMPORT_FAILING_AT:
        return None
    return "phone" if (number // IMPORT_FAILING_EVERY) % 2 == 0 else "email"


IMPORT_HEADERS = ["الاسم الأول", "اسم العائلة", "البريد الإلكتروني", "الجوال", "الشركة", "المسمى الوظيفي"]
FIRST_AR = ["محمد", "عبدالله", "فهد", "سارة", "نورة", "خالد", "ريم", "عمر", "هند", "يوسف", "لطيفة", "ماجد"]
LAST_AR = ["العتيبي", "القحطاني", "الشمري", "الدوسري", "الحربي", "الزهراني", "المطيري", "الغامدي"]
FIRST_EN = ["James", "Maria", "Omar", "Sarah", "Daniel", "Aisha", "Peter", "Leila", "David", "Nadia"]
LAST_EN = ["Smith", "Khan", "Garcia", "Haddad", "Brown", "Nasser", "Wilson", "Rahman"]
TITLES = ["مدير المشتريات", "Procurement Manager", "مدير عام", "CFO", "مسؤول مبيعات", "Office Manager"]


def _importer():
    """The member who imports: the first team manager (bench-manager-1 in the bench data), and their team."""
    from accounts.models import Membership, Role

    membership = (
        Membership.objects.filter(is_manager=True, user__role=Role.MANAGER, user__is_active=True)
        .select_related("user", "team")
        .order_by("user__username", "team_id")
        .first()
    )
    if membership is None:
        raise RuntimeError("no team manager to import as: seed the bench data first")
    return membership.user, membership.team


def import_file(path: Path, rows: int, *, team, seed: int = 3) -> int:
    """Write a contacts CSV of `rows` rows (Arabic headers, UTF-8 with a BOM, as Excel saves it).

    Nine rows in ten are new contacts, half with Arabic names, half English, each with its own
    email and mobile (057 numbers, which the bench data does not use); one in ten carries the
    email of an existing contact of `team` with a new job title, so it updates that contact.
    Companies are the team's own, or none. One row in a hundred fails (`_failing_row`): an impossible
    phone number (too short for any plan) or an email without a domain. Returns how many rows update.
    """
    from crm.models import Company, Contact

    rng = random.Random(seed)
    existing = list(
        Contact.objects.filter(team=team)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)[: rows // IMPORT_UPDATE_SHARE]
    )
    companies = list(Company.objects.filter(team=team).order_by("pk").values_list("name", flat=True)[:300])
    updates = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(IMPORT_HEADERS)
        for number in range(rows):
            arabic = number % 2 == 0
            first = rng.choice(FIRST_AR if arabic else FIRST_EN)
            last = rng.choice(LAST_AR if arabic else LAST_EN)
            company = rng.choice(companies) if companies and rng.random() < 0.8 else ""
            if number % IMPORT_UPDATE_SHARE == 0 and updates < len(existing):
                email, phone = existing[updates], ""
                updates += 1
            else:
                email = f"bench-import-{number}@example.test"
                phone = rng.choice(["057{:07d}", "+966 57 {:07d}", "0096657{:07d}"]).format(number)
                failing = _failing_row(number)
                if failing == "phone":
                    phone = f"057{number % 100:02d}"  # 5 digits: not possible in any numbering plan
                elif failing == "email":
                    email = f"bench-import-{number}@"
            writer.writerow([first, last, email, phone, company, rng.choice(TITLES) + f" {number}"])
    return updates


def run_csv_import(ctx, *, rows: int | None = None) -> list[dict]:
    """A 100,000·min(S,1)-row contacts CSV imported as a member does it: upload, preview, confirm.

    import_create reads the file, import_preview is the dry run the member looks at, then
    import_confirm with "import the valid rows and skip the failing ones" (1 % of the rows fail),
    which queues the import as a Celery task: run eagerly here, in process, so its time is the
    import's own. The skipped rows' CSV (errors.csv) must hand back exactly the failing rows.
    The import is undone afterwards.
    """
    from config.celery import app as celery_app
    from transfers import exporting
    from transfers import services as transfer_services
    from transfers.models import ImportJob, ImportKind, ImportStatus

    rows = rows or ctx.scaled(IMPORT_ROWS)
    user, team = _importer()
    path = Path(ctx.tmpdir) / "contacts.csv"
    updates = import_file(path, rows, team=team)
    data = path.read_bytes()
    start = now()
    job = transfer_services.import_create(by=user, kind=ImportKind.CONTACTS, file_name=path.name, data=data)
    reading = now() - start
    start = now()
    preview = transfer_services.import_preview(job=job, by=user)
    previewing = now() - start
    failing = sum(1 for number in range(rows) if _failing_row(number))
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the queued task runs in this process, at once
    try:
        start = now()
        transfer_services.import_confirm(job=job, by=user, skip_failing=True)
        importing_s = now() - start
    finally:
        celery_app.conf.task_always_eager = eager
    job = ImportJob.objects.get(pk=job.pk)
    summary = dict(job.summary)
    handed_back = list(csv.reader(io.StringIO(exporting.errors_csv(job).lstrip("\ufeff"))))
    csv_rows = len(handed_back) - 1
    csv_ok = handed_back[0][-1] == "error" and csv_rows == failing
    start = now()
    if job.status == ImportStatus.DONE:
        transfer_services.import_undo(job=job, by=user)
    undoing = now() - start
    expected = {"created": rows - updates - failing, "updated": updates, "skipped": 0, "errors": failing}
    wrong = sum(abs(summary.get(key, 0) - value) for key, value in expected.items())
    file_note = (
        f"{rows:,} rows ({len(data) / 2**20:.1f} MB; {rows - updates - failing:,} new, {updates:,} updates, "
        f"{failing:,} failing, skipped) imported by {user.username}; read {reading:.1f} s"
    )
    return [
        timed_result(
            "csv_import_preview",
            previewing,
            count=rows,
            throughput_unit="rows/s",
            errors=sum(abs(preview.summary().get(key, 0) - value) for key, value in expected.items()),
            target=f"≥ {IMPORT_TARGET_ROWS_S:,} rows/s",
            met=rows / previewing >= IMPORT_TARGET_ROWS_S,
            notes=f"{file_note}; preview says {preview.summary()}",
        ),
        timed_result(
            "csv_import",
            importing_s,
            count=rows,
            throughput_unit="rows/s",
            errors=wrong + (job.status != ImportStatus.DONE) + (not csv_ok),
            target=f"≥ {IMPORT_TARGET_ROWS_S:,} rows/s",
            met=wrong == 0 and csv_ok and rows / importing_s >= IMPORT_TARGET_ROWS_S,
            notes=f"{file_note}; status {job.status}, {summary}; skipped rows' CSV: {csv_rows:,} rows with an "
            f"error column{'' if csv_ok else ' (WRONG)'}; undone afterwards in {undoing:.1f} s",
        ),
    ]


# ---- reminders ------------------------------------------------------------------------------------

REMINDERS = 10_000
REMINDER_SUBJECT = "[bench] reminder"
REMINDER_TARGET_S = 60.0
WORKER_TARGET_MB = 300.0
# What beat does: one dispatch a minute (config/celery.py, "reminders-dispatch").
BEAT_PERIOD_S = 60.0


class _Mailbox:
    """aiosmtpd handler: counts the messages it accepts by Message-ID, so a duplicate shows."""

    def __init__(self):
        self.received = Counter()
        self.lock = threading.Lock()
        self._parser = email.parser.BytesParser(policy=email.policy.default)

    async def handle_DATA(self, server, session, envelope):
        message_id = self._parser.parsebytes(envelope.content, headersonly=True)["Message-ID"]
        with self.lock:
            self.received[str(message_id)] += 1
        return "250 Message accepted for delivery"

    def counts(self) -> Counter:
        with self.lock:
            return Counter(self.received)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _smtp_sink():
    """A real SMTP server on a loopback port, in this process; yields (mailbox, port)."""
    from aiosmtpd.controller import Controller

    # aiosmtpd logs every SMTP command at INFO: thousands of lines that say nothing here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    mailbox = _Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def _reminder_recipients() -> list[tuple[int, int]]:
    """(user id, team id) of the reps who get the reminders: active, with an email, in a team."""
    from accounts.models import Membership, Role

    pairs = {}
    memberships = (
        Membership.objects.filter(user__is_active=True, user__role=Role.REP)
        .exclude(user__email="")
        .order_by("user__username", "team_id")
        .values_list("user_id", "team_id")
    )
    for user_id, team_id in memberships:
        pairs.setdefault(user_id, team_id)
    if not pairs:
        raise RuntimeError("no active rep with an email and a team: seed the bench data first")
    return list(pairs.items())


def _reminders_clear() -> None:
    """Remove the follow-ups (and, by cascade, the notifications) of an earlier run."""
    from crm.models import FollowUp

    FollowUp.objects.filter(subject__startswith=REMINDER_SUBJECT).delete()


def reminders_create(count: int, *, seed: int = 1) -> list[int]:
    """`count` open follow-ups whose reminders are due now, in bulk; returns their ids.

    Spread round-robin over the reps, each linked to a contact of the rep's team (as the
    reminder email names the customer), due in an hour, reminded a minute ago.
    """
    from django.utils import timezone

    from crm.models import Contact, FollowUp, ReminderState

    rng = random.Random(seed)
    recipients = _reminder_recipients()
    contacts = {}
    for team_id in {team_id for _user, team_id in recipients}:
        contacts[team_id] = list(
            Contact.objects.filter(team_id=team_id).order_by("pk").values_list("pk", flat=True)[:500]
        )
    moment = timezone.now()
    follow_ups = []
    for number in range(count):
        user_id, team_id = recipients[number % len(recipients)]
        follow_ups.append(
            FollowUp(
                subject=f"{REMINDER_SUBJECT} {number + 1}",
                due_at=moment + timedelta(hours=1),
                remind_at=moment - timedelta(minutes=1),
                reminder_state=ReminderState.PENDING,
                assignee_id=user_id,
                created_by_id=user_id,
                team_id=team_id,
                contact_id=rng.choice(contacts[team_id]) if contacts[team_id] else None,
            )
        )
    created = FollowUp.objects.bulk_create(follow_ups, batch_size=2000)
    return [follow_up.pk for follow_up in created]


class _Worker:
    """`celery -A config worker` (prefork, 2 processes) in its own process group, with the app's environment."""

    def __init__(self, ctx, *, smtp_port: int, log_path: Path, concurrency: int = 2):
        self.ctx = ctx
        self.name = f"bench-batch-{os.getpid()}@%h"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "CELERY_"))}
        env.update(ctx.env)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=ctx.database_url,
            REDIS_URL=ctx.redis_url,
            EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
            LOG_LEVEL="WARNING",
        )
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={concurrency}",
                    "-Q",
                    "realtime,batch",  # both queues (config/settings.py CELERY_TASK_QUEUES)
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "--loglevel=WARNING",
                    "-n",
                    self.name,
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited ({self.process.returncode}):\n{self.logs()}")

    def wait_ready(self, app, connection, timeout: float = 60) -> float:
        """Wait until the worker answers a ping; returns the seconds it took."""
        start = now()
        hostname = self.name.replace("%h", socket.gethostname())
        while now() - start < timeout:
            self.check_alive()
            if app.control.ping(destination=[hostname], timeout=0.5, connection=connection):
                return now() - start
        raise RuntimeError(f"the Celery worker did not answer within {timeout:.0f} s:\n{self.logs()}")

    def pids(self) -> list[int]:
        try:
            parent = psutil.Process(self.process.pid)
            return [parent.pid] + [child.pid for child in parent.children(recursive=True)]
        except psutil.Error:
            return []

    def stop(self, timeout: float = 30) -> int:
        """Warm shutdown (SIGTERM: finish the running tasks, then exit); SIGKILL only if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


class _WorkerMemory:
    """Samples a worker's processes every 0.2 s: the peak of their summed PSS and of the largest RSS.

    PSS (proportional set size) shares each page among the processes that map it, so the sum is
    what the whole worker costs the machine; summed RSS would count the pages the prefork
    children share with their parent two or three times.
    """

    def __init__(self, worker: "_Worker", period: float = 0.2):
        self.worker = worker
        self.period = period
        self.total_pss_mb = 0.0
        self.largest_rss_mb = 0.0
        self.processes = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-memory", daemon=True)

    def sample(self) -> None:
        total, largest, processes = 0, 0, 0
        for pid in self.worker.pids():
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                memory = process.memory_full_info()
                times = process.cpu_times()
                self._cpu[pid] = times.user + times.system
                total += memory.pss
                largest = max(largest, memory.rss)
                processes += 1
        self.total_pss_mb = max(self.total_pss_mb, total / 2**20)
        self.largest_rss_mb = max(self.largest_rss_mb, largest / 2**20)
        self.processes = max(self.processes, processes)

    @property
    def cpu_s(self) -> float:
        """CPU seconds the worker's processes used, as last sampled."""
        return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _queue_length(redis_url: str, queue: str = "realtime") -> int:  # reminders are on "realtime"
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def _sent_count(ids: list[int]) -> int:
    """How many of the reminders are sent; `ids` come from one bulk insert, so a range of the primary key."""
    from crm.models import FollowUp, ReminderState

    return FollowUp.objects.filter(
        pk__gte=min(ids), pk__lte=max(ids), subject__startswith=REMINDER_SUBJECT, reminder_state=ReminderState.SENT
    ).count()


def _exactly_once(ids: list[int], mailbox: _Mailbox) -> dict:
    """What was delivered, counted three ways: the follow-ups' state, their notifications, the SMTP server.

    Emails whose Message-ID is not one of these reminders' (another follow-up that happened to be
    due) are counted apart as `other_emails`; they are not the benchmark's.
    """
    from django.db.models import Count

    from notifications.models import Notification

    notifications = Notification.objects.filter(follow_up_id__in=ids)
    per_follow_up = dict(
        notifications.order_by().values("follow_up_id").annotate(n=Count("pk")).values_list("follow_up_id", "n")
    )
    expected = set(notifications.exclude(email_message_id="").values_list("email_message_id", flat=True))
    received = mailbox.counts()
    mine = {message_id: n for message_id, n in received.items() if message_id in expected}
    return {
        "sent": _sent_count(ids),
        "with_one_notification": sum(1 for pk in ids if per_follow_up.get(pk) == 1),
        "extra_notifications": sum(max(n - 1, 0) for n in per_follow_up.values()),
        "emails": sum(mine.values()),
        "distinct_emails": len(mine),
        "duplicate_emails": sum(n - 1 for n in mine.values()),
        "missing_emails": len(expected - set(mine)),
        "other_emails": sum(n for message_id, n in received.items() if message_id not in expected),
    }


def run_reminders(ctx, *, count: int | None = None, timeout: float | None = None) -> list[dict]:
    """10,000·min(S,1) due reminders, dispatched as beat does and delivered by a real worker.

    The clock starts at the first dispatch and stops when the database says every reminder is
    sent; exactly once is then checked on the follow-ups, their notifications and the SMTP server.
    """
    from django.db import close_old_connections
    from kombu import Connection

    from config.celery import app

    count = count or ctx.scaled(REMINDERS)
    timeout = timeout or max(300.0, count / 20)
    _reminders_clear()
    ids = reminders_create(count)
    with _smtp_sink() as (mailbox, port), Connection(ctx.redis_url) as broker:
        worker = _Worker(ctx, smtp_port=port, log_path=Path(ctx.tmpdir) / "celery-worker.log")
        try:
            with _WorkerMemory(worker) as memory:
                startup = worker.wait_ready(app, broker)
                ctx.memory.watch("celery_worker", worker.process.pid, "celery_worker")
                # Tasks queued by earlier operations (with no worker running) go first, untimed.
                backlog = _queue_length(ctx.redis_url)
                while _queue_length(ctx.redis_url):
                    worker.check_alive()
                    time.sleep(0.2)
                start = now()
                cpu_before, own_cpu_before = memory.cpu_s, time.process_time()
                next_beat, dispatches, sent = start, 0, 0
                while sent < count and now() - start < timeout:
                    if now() >= next_beat:
                        app.send_task("notifications.tasks.reminders_dispatch", connection=broker, expires=55)
                        dispatches += 1
                        next_beat += BEAT_PERIOD_S
                    time.sleep(0.1)
                    sent = _sent_count(ids)
                    worker.check_alive()
                wall = now() - start
                memory.sample()
                cpu, own_cpu = memory.cpu_s - cpu_before, time.process_time() - own_cpu_before
                time.sleep(0.5)  # a duplicate email would be on its way now
                checks = _exactly_once(ids, mailbox)
        finally:
            ctx.memory.unwatch(worker.process.pid)
            exit_code = worker.stop()
    close_old_connections()
    _reminders_clear()
    problems = (count - checks["sent"]) + (count - checks["with_one_notification"]) + checks["extra_notifications"]
    problems += checks["duplicate_emails"] + checks["missing_emails"] + (count - checks["distinct_emails"])
    rate = checks["sent"] / wall if wall else 0.0
    notes = (
        f"{count:,} reminders, {dispatches} dispatch(es) sent as beat sends them; sent {checks['sent']:,}, "
        f"with exactly one notification {checks['with_one_notification']:,}, emails received "
        f"{checks['emails']:,} ({checks['distinct_emails']:,} distinct Message-IDs, "
        f"{checks['duplicate_emails']} duplicates, {checks['missing_emails']} missing); "
        f"{checks['other_emails']} emails of other due follow-ups; worker CPU {1000 * cpu / count:.1f} ms "
        f"a reminder (this process, SMTP server and polling: {1000 * own_cpu / count:.1f} ms), load average {os.getloadavg()[0]:.1f}; worker prefork x2 ready in {startup:.1f} s "
        f"after {backlog} queued tasks of earlier operations, stopped with exit code {exit_code}"
    )
    if checks["sent"] < count:
        notes += f"; NOT all sent within {timeout:.0f} s"
    return [
        result(
            "reminders_dispatch",
            unit="s",
            p50=wall,
            p95=wall,
            p99=wall,
            wall_s=wall,
            count=count,
            throughput=rate,
            throughput_unit="reminders/s",
            errors=problems,
            target=f"{REMINDERS:,} in ≤ {REMINDER_TARGET_S:.0f} s (≥ {REMINDERS / REMINDER_TARGET_S:.0f}/s), each once",
            met=problems == 0 and rate >= REMINDERS / REMINDER_TARGET_S,
            notes=notes,
        ),
        result(
            "celery_worker_pss",
            unit="MB",
            p50=memory.total_pss_mb,
            p95=memory.total_pss_mb,
            p99=memory.total_pss_mb,
            count=memory.processes,
            target=f"≤ {WORKER_TARGET_MB:.0f} MB",
            met=memory.total_pss_mb <= WORKER_TARGET_MB,
            notes=(
                f"peak PSS of the worker's {memory.processes} processes summed, while delivering the reminders; "
                f"largest single process RSS {memory.largest_rss_mb:.0f} MB"
            ),
        ),
    ]
