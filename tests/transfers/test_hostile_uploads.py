"""Small files built to cost a lot: each is refused clearly, quickly, in bounded memory, and the site keeps answering.

Every file is built here (nothing big is committed) and goes through the real upload view and
the Celery task that reads it (run in-process, as without REDIS_URL), while a thread keeps
asking the live server's /healthz/.
"""

import codecs
import io
import re
import threading
import time
import tracemalloc
import urllib.request
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Contact
from tests.transfers.conftest import ARABIC_ROWS, csv_bytes, xlsx_bytes
from transfers.models import ImportJob, ImportStatus

ARABIC = re.compile(r"[\u0600-\u06ff]")


def _sniffer_line() -> bytes:
    """A 63 KB first line of `,"a`: csv.Sniffer's regular expressions take 14–24 s on it."""
    return b"name" + b',"a' * 21_000 + b"\r\nx\r\n"


def _soft_breaks() -> bytes:
    """A 1.2 MB vCard of 300,000 quoted-printable soft line breaks (joined one by one: quadratic)."""
    return (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Salem;Sara\r\nNOTE;ENCODING=QUOTED-PRINTABLE:"
        + "a=\r\n" * 300_000
        + "a\r\nEND:VCARD\r\n"
    ).encode()


def _column_xfd() -> bytes:
    """A 6.7 KB workbook whose cells sit in column XFD: 16,384 columns per row once read."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row, (name, far) in enumerate([("name", "x"), ("Sara", "y")], start=1):
        sheet.cell(row=row, column=1, value=name)
        sheet.cell(row=row, column=16_384, value=far)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _rezip(data: bytes, replace: dict) -> bytes:
    """The workbook `data` with members replaced or added: a callable writes each one's new content."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = [member.filename for member in source.infolist()]
        for name in names + [name for name in replace if name not in names]:
            original = source.read(name) if name in names else b""
            with target.open(name, "w", force_zip64=True) as part:
                if name in replace:
                    replace[name](part, original)
                else:
                    part.write(original)
    return out.getvalue()


def _shared_string_bomb() -> bytes:
    """A ~100 KB workbook whose notes cell is one 100 MB shared string (written in chunks: never held whole)."""

    def strings(part, _original):
        part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
        chunk = b"a" * (1024 * 1024)
        for _ in range(100):
            part.write(chunk)
        part.write(b"</t></si></sst>")

    def types(part, original):
        override = (
            b'<Override PartName="/xl/sharedStrings.xml" '
            b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />'
        )
        part.write(original.replace(b"</Types>", override + b"</Types>"))

    def sheet(part, original):
        cell = re.compile(rb'<c r="F2" t="inlineStr"><is><t>[^<]*</t></is></c>')
        assert cell.search(original)
        part.write(cell.sub(b'<c r="F2" t="s"><v>0</v></c>', original))

    return _rezip(
        xlsx_bytes(ARABIC_ROWS),
        {"xl/sharedStrings.xml": strings, "[Content_Types].xml": types, "xl/worksheets/sheet1.xml": sheet},
    )


def _wide_csv() -> bytes:
    """A 120 KB CSV of 30,000 columns: a 30 s, 17 MB preview page."""
    return ("\r\n".join(",".join([text] * 30_000) for text in ("c", "d")) + "\r\n").encode()


HOSTILE = {
    "csv-sniffer-line": (_sniffer_line, "a.csv"),
    "vcard-soft-breaks": (_soft_breaks, "a.vcf"),
    "xlsx-column-xfd": (_column_xfd, "a.xlsx"),
    "xlsx-shared-string-bomb": (_shared_string_bomb, "a.xlsx"),
    "csv-30000-columns": (_wide_csv, "a.csv"),
}


class _HealthProbe(threading.Thread):
    """Asks /healthz/ over and over while the upload is read; records how each answer went."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.answers = url + "/healthz/", threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    status = response.status
            except Exception as error:  # any failure is what the test reports
                status = repr(error)
            self.answers.append((status, time.perf_counter() - start))
            time.sleep(0.05)


@pytest.fixture
def health(live_server):
    probe = _HealthProbe(live_server.url)
    probe.start()
    yield probe
    probe.stop.set()
    probe.join(10)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_upload_is_refused_quickly_in_bounded_memory_while_the_site_answers(
    case, client, world, health, eager_celery, django_capture_on_commit_callbacks
):
    build, name = HOSTILE[case]
    data = build()
    assert len(data) < 2 * 1024 * 1024
    client.force_login(world.rep_a1)  # Arabic
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with django_capture_on_commit_callbacks(execute=True):  # the worker's task, run in-process
            response = client.post(
                reverse("transfers:import"), {"kind": "contacts", "file": SimpleUploadedFile(name, data)}
            )
        elapsed = time.perf_counter() - start
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.REFUSED, (job.status, job.headers[:3], job.row_count)
    assert ARABIC.search(job.message), job.message  # a translated refusal, in the uploader's language
    assert job.rows == [] and job.upload is None and Contact.objects.filter(first_name="Sara").count() == 0
    assert elapsed < 8, f"{case}: {elapsed:.1f} s"
    assert peak < 64 * 1024 * 1024, f"{case}: {peak / 2**20:.0f} MB"
    page = client.get(response.url)
    assert page.status_code == 200 and job.message in page.content.decode()
    assert "every 1s" not in page.content.decode()  # refused: the page stops polling
    time.sleep(0.2)
    health.stop.set()
    health.join(10)
    assert health.answers, "the health probe never answered"
    assert all(status == 200 for status, _seconds in health.answers), health.answers
    assert max(seconds for _status, seconds in health.answers) < 3, health.answers


def test_the_request_keeps_the_file_and_the_worker_reads_it(client, world):
    """With a worker, the upload answers at once and the page polls until the worker has read the file."""
    from transfers.tasks import read_import

    client.force_login(world.rep_a1)
    # The task is queued on commit: this test's transaction never commits, so only the worker's call below reads it.
    response = client.post(
        reverse("transfers:import"),
        {"kind": "contacts", "file": SimpleUploadedFile("c.csv", csv_bytes(ARABIC_ROWS))},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.READING and job.headers == [] and job.rows == [] and bytes(job.upload)
    page = client.get(response.url).content.decode()
    assert "every 1s" in page and 'id="import-reading"' in page
    htmx = {"HX-Request": "true", "HX-Target": "import-reading"}
    assert "every 1s" in client.get(response.url, headers=htmx).content.decode()
    # The progress page of a job still reading is its reading page.
    assert client.get(reverse("transfers:import_progress", args=[job.pk])).url == response.url

    read_import(job.pk)  # what the worker runs

    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED and job.upload is None
    assert job.headers == ARABIC_ROWS[0] and job.row_count == 2 and job.summary["created"] == 2
    poll = client.get(response.url, headers=htmx)
    assert poll.headers["HX-Redirect"] == response.url
    read_import(job.pk)  # twice (a redelivered task) changes nothing
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED


def test_the_import_list_never_loads_a_jobs_rows(client, world, django_user_model):
    """The recent imports list (and the admin's) reads a few columns of each job, not its rows (hundreds of MB for some files)."""
    from transfers import services as transfer_services

    job = transfer_services.import_create(
        by=world.rep_a1, kind="contacts", file_name="c.csv", data=csv_bytes(ARABIC_ROWS)
    )
    transfer_services.import_preview(job=job, by=world.rep_a1)
    client.force_login(world.manager_a)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("transfers:import"))
    assert page.status_code == 200 and "c.csv" in page.content.decode()
    jobs_sql = [q["sql"] for q in captured if 'FROM "transfers_importjob"' in q["sql"]]
    assert jobs_sql and not any(
        f'"transfers_importjob"."{column}"' in sql
        for sql in jobs_sql
        for column in ("rows", "errors", "upload", "created", "snapshots")
    ), jobs_sql
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("transfers:import_preview", args=[job.pk])).status_code == 200
    admin_client = Client()
    admin_client.force_login(django_user_model.objects.create_superuser("root", "root@example.test", "x"))
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get("/admin/transfers/importjob/").status_code == 200
        assert admin_client.get(f"/admin/transfers/importjob/{job.pk}/change/").status_code == 200
    assert not any('"transfers_importjob"."rows"' in q["sql"] for q in captured), [q["sql"] for q in captured]
    whole_rows = re.compile(r'"transfers_importjob"\."rows"(?!\s*->)')  # the first rows are read one by one
    assert not any(whole_rows.search(q["sql"]) for q in captured), [q["sql"] for q in captured]


# Odd encodings and characters (each refused clearly, nothing saved) --------------------------


def _read(client, world, data, name, django_capture_on_commit_callbacks):
    client.force_login(world.rep_a1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("transfers:import"), {"kind": "contacts", "file": SimpleUploadedFile(name, data)}
        )
    assert response.status_code == 302, response.content.decode()[:500]
    job = ImportJob.objects.get()
    assert client.get(response.url).status_code == 200
    return job


def test_utf16_csv_with_a_nul_is_a_clear_refusal(client, world, eager_celery, django_capture_on_commit_callbacks):
    text = "name,email\r\nSa\x00ra,sara@example.test\r\n"
    job = _read(
        client, world, codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "a.csv", django_capture_on_commit_callbacks
    )
    assert job.status == ImportStatus.REFUSED and "NUL" in job.message and ARABIC.search(job.message)
    assert job.rows == [] and not Contact.objects.filter(email="sara@example.test").exists()


def test_vcard_with_a_nul_is_a_clear_refusal(client, world, eager_celery, django_capture_on_commit_callbacks):
    card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Salem;Sara\r\nNOTE;ENCODING=QUOTED-PRINTABLE:a=00b\r\nEND:VCARD\r\n"
    job = _read(client, world, card.encode(), "a.vcf", django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.REFUSED and "NUL" in job.message
    assert not Contact.objects.filter(first_name="Sara").exists()


@pytest.mark.parametrize("charset", ["idna", "undefined", "unicode-escape", "no-such-charset"])
def test_vcard_with_an_odd_charset_is_a_clear_refusal(
    charset, client, world, eager_celery, django_capture_on_commit_callbacks
):
    card = (
        f"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Salem;Sara\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET={charset}:=41=42\r\n"
        "END:VCARD\r\n"
    )
    job = _read(client, world, card.encode(), "a.vcf", django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.REFUSED and charset in job.message and ARABIC.search(job.message)
    assert not Contact.objects.filter(first_name="Sara").exists()


def test_vcard_with_a_usual_charset_still_reads(client, world, eager_celery, django_capture_on_commit_callbacks):
    card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Salem;Sara\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=windows-1256:=C3=CD=E3=CF\r\n"
        "END:VCARD\r\n"
    )
    job = _read(client, world, card.encode(), "a.vcf", django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.PREVIEWED, job.message
    job.refresh_from_db()
    assert job.rows[0][7] == "أحمد"


@pytest.mark.postgres
def test_a_preview_that_fails_in_the_worker_is_a_refusal_not_a_job_reading_forever(
    client, world, eager_celery, django_capture_on_commit_callbacks
):
    from tests.pg import refuse_inserts

    refuse_inserts("pipeline_deal", column="title", value="boom", sqlstate="XX000")
    rows = [["title", "amount", "currency"], ["boom", "100", "SAR"]]
    client.force_login(world.rep_a1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("transfers:import"), {"kind": "deals", "file": SimpleUploadedFile("d.csv", csv_bytes(rows))}
        )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.REFUSED and "تعذّر فحص الملف" in job.message
    page = client.get(response.url).content.decode()
    assert job.message in page and "every 1s" not in page
