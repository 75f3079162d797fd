"""Import speed: 10,000 generated contacts through the real preview and import path (not a test).

    DATABASE_URL=postgres://... .venv/bin/python scripts/bench_import.py [ROWS]

Creates a throwaway team and rep, times the dry run and the confirmed import, prints rows/s,
then undoes the import and removes the team, so the database is left as it was.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from accounts.models import Membership, Team, User  # noqa: E402
from transfers import services as transfer_services  # noqa: E402
from transfers.models import ImportStatus  # noqa: E402


def main(count: int) -> None:
    team = Team.objects.create(name=f"bench-{time.time_ns()}")
    user = User.objects.create_user(username=f"bench-{time.time_ns()}", password="x")
    Membership.objects.create(user=user, team=team)
    lines = ["الاسم الأول,اسم العائلة,البريد الإلكتروني,الجوال,ملاحظات"]
    for i in range(count):
        lines.append(f"عميل{i},التجربة,bench{i}@example.test,+96650{i:07d},ملاحظة {i}")
    data = ("\n".join(lines) + "\n").encode("cp1256")
    try:
        start = time.perf_counter()
        job = transfer_services.import_create(by=user, kind="contacts", file_name="bench.csv", data=data)
        read = time.perf_counter() - start
        start = time.perf_counter()
        transfer_services.import_preview(job=job, by=user)
        preview = time.perf_counter() - start
        assert not job.errors, job.errors[:3]
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["status"])
        start = time.perf_counter()
        job = transfer_services.import_run(job_id=job.pk)
        run = time.perf_counter() - start
        assert job.status == ImportStatus.DONE, job.status
        print(
            f"{count} contacts: read {read:.2f}s, dry run {preview:.2f}s ({count / preview:.0f} rows/s), "
            f"import {run:.2f}s ({count / run:.0f} rows/s)"
        )
        transfer_services.import_undo(job=job, by=user)
    finally:
        user.import_jobs.all().delete()
        Membership.objects.filter(user=user).delete()
        user.delete()
        team.delete()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
