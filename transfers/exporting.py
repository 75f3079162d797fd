"""Exports of the lists' filtered views to CSV (UTF-8 with BOM, streamed) and XLSX, and of contacts to vCard."""

import csv
import io

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from core.csvsafe import spreadsheet_cell


def _name(user):
    return user.get_full_name() or user.get_username() if user else ""


COLUMNS = {
    "contacts": [
        (_("First name"), lambda c: c.first_name),
        (_("Last name"), lambda c: c.last_name),
        (_("Email"), lambda c: c.email),
        (_("Phone"), lambda c: c.phone or c.phone_raw),
        (_("Job title"), lambda c: c.job_title),
        (_("Company"), lambda c: c.company.name if c.company_id else ""),
        (_("Owner"), lambda c: _name(c.owner)),
        (_("Notes"), lambda c: c.notes),
        (_("External id"), lambda c: c.external_id),
    ],
    "companies": [
        (_("Name"), lambda c: c.name),
        (_("Phone"), lambda c: c.phone or c.phone_raw),
        (_("Website"), lambda c: c.website),
        (_("Industry"), lambda c: c.industry),
        (_("City"), lambda c: c.city),
        (_("Country"), lambda c: c.country),
        (_("Owner"), lambda c: _name(c.owner)),
        (_("Notes"), lambda c: c.notes),
        (_("External id"), lambda c: c.external_id),
    ],
    "deals": [
        (_("Title"), lambda d: d.title),
        (_("Amount"), lambda d: d.amount),
        (_("Currency"), lambda d: d.currency),
        (_("Stage"), lambda d: str(d.stage)),
        (_("Company"), lambda d: d.company.name if d.company_id else ""),
        (_("Contact email"), lambda d: d.contact.email if d.contact_id else ""),
        (_("Expected close"), lambda d: d.expected_close.isoformat() if d.expected_close else ""),
        (_("Owner"), lambda d: _name(d.owner)),
    ],
    "activities": [
        (_("When"), lambda a: a.occurred_at.isoformat()),
        (_("Type"), lambda a: a.get_kind_display()),
        (_("Outcome"), lambda a: a.get_outcome_display() if a.outcome else ""),
        (_("Subject"), lambda a: a.subject),
        (_("Note"), lambda a: a.body),
        (_("Contact"), lambda a: a.contact.full_name if a.contact_id else ""),
        (_("Company"), lambda a: a.company.name if a.company_id else ""),
        (_("Deal"), lambda a: a.deal.title if a.deal_id else ""),
        (_("Logged by"), lambda a: _name(a.actor)),
    ],
}


def rows(kind: str, queryset, *, xlsx: bool = False):
    columns = COLUMNS[kind]
    yield [spreadsheet_cell(label, xlsx=xlsx) for label, _get in columns]
    for record in queryset.iterator(chunk_size=2000):
        yield [spreadsheet_cell(get(record), xlsx=xlsx) for _label, get in columns]


class _Echo:
    def write(self, value):
        return value


def csv_response(kind: str, queryset, file_name: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # Excel reads UTF-8 (and so Arabic) only with the BOM
        for row in rows(kind, queryset):
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}.csv"'
    return response


def xlsx_bytes(kind: str, queryset) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows(kind, queryset, xlsx=True):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_response(kind: str, queryset, file_name: str) -> HttpResponse:
    response = HttpResponse(
        xlsx_bytes(kind, queryset), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{file_name}.xlsx"'
    return response


def vcard_response(queryset) -> StreamingHttpResponse:
    from transfers.vcard import write_vcard

    def stream():
        for contact in queryset.iterator(chunk_size=2000):
            yield write_vcard(contact)

    response = StreamingHttpResponse(stream(), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    return response


def errors_csv(job) -> str:
    """The rows that failed, as uploaded, plus an "error" column: fix them and upload this file again."""
    messages: dict[int, list[str]] = {}
    for error in job.errors:
        text = f"{error['column']}: {error['message']}" if error["column"] else error["message"]
        messages.setdefault(error["row"], []).append(text)
    out = io.StringIO()
    writer = csv.writer(out)
    # The file's own headers are as untrusted as its cells.
    writer.writerow([*(spreadsheet_cell(header) for header in job.headers), "error"])
    for row_number in sorted(messages):
        row = job.rows[row_number - 2]
        writer.writerow([*(spreadsheet_cell(cell) for cell in row), spreadsheet_cell(" | ".join(messages[row_number]))])
    return "\ufeff" + out.getvalue()
