"""Reading uploaded files: encoding and delimiter detection for CSV, XLSX by content, vCard.

Every failure is a `FileProblem` with a translated message; nothing here raises anything else
for bad input.
"""

import codecs
import csv
import io
import re
import zipfile

from django.conf import settings
from django.utils.translation import gettext as _

ZIP_MAGIC = b"PK\x03\x04"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bigger than Python's default (128 KiB), so a long notes cell is read, not refused.
csv.field_size_limit(8 * 1024 * 1024)


class FileProblem(Exception):
    """A file that cannot be read; `message` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def decode(data: bytes) -> str:
    """Text of `data`: BOM first (UTF-8, UTF-16 LE/BE), then strict UTF-8, then Windows-1256 (Arabic Excel)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise FileProblem(_("The file says it is Unicode text but it is damaged.")) from None
    if b"\x00" in data[:4096]:
        raise FileProblem(_("This file is not a spreadsheet: save it as CSV (UTF-8) or Excel (.xlsx) and try again."))
    for encoding in ("utf-8", "cp1256"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Windows-1256 maps nearly every byte, so binary junk "decodes": control characters give it away.
        if _CONTROL.search(text):
            break
        return text
    raise FileProblem(_("The text of this file could not be read: save it as CSV (UTF-8) and try again."))


def _check_size(data: bytes) -> None:
    if not data:
        raise FileProblem(_("The file is empty."))
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise FileProblem(
            _("The file is too large: at most %(size)s MB can be imported at once. Split it and import each part.")
            % {"size": settings.IMPORT_MAX_BYTES // (1024 * 1024) or 1}
        )


def _finish(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise FileProblem(_("The file is empty."))
    headers = [cell.strip() for cell in rows[0]]
    if not any(headers):
        raise FileProblem(_("The first row must name the columns."))
    body = rows[1:]
    if not body:
        raise FileProblem(_("The file has column names but no rows to import."))
    if len(body) > settings.IMPORT_MAX_ROWS:
        raise FileProblem(
            _("The file has %(count)s rows; at most %(limit)s can be imported at once. Split it and import each part.")
            % {"count": len(body), "limit": settings.IMPORT_MAX_ROWS}
        )
    return headers, body


def read_csv_text(text: str) -> tuple[list[str], list[list[str]]]:
    sample = text[: 64 * 1024]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0] or sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise FileProblem(_("The file is not a valid CSV file (a quote is not closed).")) from None
    return _finish([list(row) for row in rows])


def read_xlsx(data: bytes) -> tuple[list[str], list[list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged workbook
        raise FileProblem(
            _("The Excel file is damaged or incomplete: open it in Excel, save it again and retry.")
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(["" if value is None else _cell_text(value) for value in row])
            if len(rows) > settings.IMPORT_MAX_ROWS + 1:
                break
    except Exception:
        raise FileProblem(
            _("The Excel file is damaged or incomplete: open it in Excel, save it again and retry.")
        ) from None
    finally:
        workbook.close()
    width = max((len(row) for row in rows), default=0)
    return _finish([row + [""] * (width - len(row)) for row in rows])


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def is_vcard(text: str) -> bool:
    return text.lstrip().upper().startswith("BEGIN:VCARD")


def read_table(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of an uploaded CSV or XLSX (the format is told by content, not by name)."""
    _check_size(data)
    if data.startswith(ZIP_MAGIC):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise FileProblem(_("The Excel file is damaged or incomplete: open it in Excel, save it again and retry."))
        return read_xlsx(data)
    text = decode(data)
    if is_vcard(text):
        from transfers.vcard import parse_vcards, vcards_to_table

        return _finish(vcards_to_table(parse_vcards(text)))
    return read_csv_text(text)
