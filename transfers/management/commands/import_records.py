"""python manage.py import_records FILE --kind contacts|companies|deals [--dry-run] [--user USERNAME] [--mapping JSON]"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from transfers import services
from transfers.models import ImportKind, ImportStatus
from transfers.readers import FileProblem


class Command(BaseCommand):
    help = "Import companies, contacts or deals from a CSV, XLSX or vCard file (all rows or none)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--dry-run", action="store_true", help="Show what would happen; change nothing.")
        parser.add_argument("--user", help="Username the records are imported as (default: the first administrator).")
        parser.add_argument("--mapping", help='JSON {"column header": "field"} overriding the detected mapping.')

    def handle(self, *args, **options):
        User = get_user_model()
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']}.")
        else:
            user = User.objects.filter(is_superuser=True).order_by("pk").first()
            if user is None:
                raise CommandError("Pass --user USERNAME.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            job = services.import_create(by=user, kind=options["kind"], file_name=path.name, data=path.read_bytes())
        except FileProblem as problem:
            raise CommandError(problem.message) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        mapping = None
        if options["mapping"]:
            try:
                by_header = json.loads(options["mapping"])
            except json.JSONDecodeError as error:
                raise CommandError(f"--mapping is not valid JSON: {error}") from None
            mapping = {str(i): by_header[h] for i, h in enumerate(job.headers) if h in by_header}
        services.import_preview(job=job, by=user, mapping=mapping)
        self._report(job)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
            return
        if job.errors:
            raise CommandError("Nothing was imported: fix the rows with errors first.")
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["status"])
        job = services.import_run(job_id=job.pk)
        if job.status != ImportStatus.DONE:
            self._report(job)
            raise CommandError("Nothing was imported.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {job.summary['created']} created, {job.summary['updated']} updated, {job.summary['skipped']} skipped (import #{job.pk})."
            )
        )

    def _report(self, job):
        mapped = ", ".join(
            f"{job.headers[int(i)]} → {name}" for i, name in sorted(job.mapping.items(), key=lambda x: int(x[0]))
        )
        self.stdout.write(f"Columns: {mapped or '(none)'}")
        s = job.summary
        self.stdout.write(
            f"Create: {s.get('created', 0)}  Update: {s.get('updated', 0)}  Skip: {s.get('skipped', 0)}  Rows with errors: {s.get('errors', 0)}"
        )
        for error in job.errors:
            self.stdout.write(
                f"  row {error['row']}" + (f", {error['column']}" if error["column"] else "") + f": {error['message']}"
            )
