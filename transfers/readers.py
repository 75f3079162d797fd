"""Reading uploaded files: encoding and delimiter detection for CSV, XLSX by content, vCard.

Every failure is a `FileProblem` with a translated message; nothing here raises anything else
for bad input.

An upload is untrusted and small files can be built to cost a lot, so every step is linear in
the file's size and every limit is checked as the rows come, before the next one is read:
columns per row, characters per cell and per row, rows, and the text a file may hold once
unpacked (an .xlsx is a zip: a 100 KB file can unpack to gigabytes). The limits are settings
(IMPORT_MAX_*), read at call time. The reading runs in the Celery worker, not in a web request.
"""

import codecs
import csv
import io
import re
import xml.parsers.expat
import zipfile
from xml.etree import ElementTree

from django.conf import settings
from django.utils.translation import gettext as _

ZIP_MAGIC = b"PK\x03\x04"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A per-field ceiling for the csv module (its default is 128 KiB); a field longer than the cell
# limit is refused anyway, this only bounds what the module buffers before it is.
csv.field_size_limit(8 * 1024 * 1024)
_QUOTED = re.compile(r'"[^"]*"')
_SHARED_STRINGS_TYPE = "sharedStrings+xml"


class FileProblem(Exception):
    """A file that cannot be read; `message` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _damaged_xlsx() -> FileProblem:
    return FileProblem(_("The Excel file is damaged or incomplete: open it in Excel, save it again and retry."))


def _too_much_text() -> FileProblem:
    return FileProblem(
        _("The file holds more than %(size)s MB of text once unpacked. Split it and import each part.")
        % {"size": settings.IMPORT_MAX_UNCOMPRESSED_BYTES // (1024 * 1024) or 1}
    )


def _nul() -> FileProblem:
    return FileProblem(
        _("The file contains a NUL character, which text files do not have: save it again as CSV (UTF-8) and retry.")
    )


def decode(data: bytes) -> str:
    """Text of `data`: BOM first (UTF-8, UTF-16 LE/BE), then strict UTF-8, then Windows-1256 (Arabic Excel)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise FileProblem(_("The file says it is Unicode text but it is damaged.")) from None
            # A UTF-16 file holds NUL bytes, so they are only looked for once decoded: U+0000 cannot be
            # stored (PostgreSQL's text and jsonb refuse it), and no spreadsheet writes one.
            if "\x00" in text:
                raise _nul()
            return text
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


def check_upload(data: bytes) -> None:
    """The checks that cost nothing whatever the file holds (size, empty, a zip's directory), for the web request.

    Everything else (decoding, parsing, the limits on what the file holds) is `read_table`'s
    work, done in the worker.
    """
    if not data:
        raise FileProblem(_("The file is empty."))
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise FileProblem(
            _("The file is too large: at most %(size)s MB can be imported at once. Split it and import each part.")
            % {"size": settings.IMPORT_MAX_BYTES // (1024 * 1024) or 1}
        )
    if data.startswith(ZIP_MAGIC) and not zipfile.is_zipfile(io.BytesIO(data)):
        raise _damaged_xlsx()


class _Table:
    """The rows of a file as they are read, each checked against the limits before the next is read.

    Blank rows are dropped; the first row left names the columns.
    """

    def __init__(self):
        self.max_columns = settings.IMPORT_MAX_COLUMNS
        self.max_cell = settings.IMPORT_MAX_CELL_CHARS
        self.max_line = settings.IMPORT_MAX_LINE_CHARS
        self.max_rows = settings.IMPORT_MAX_ROWS
        self.max_text = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
        self.rows: list[list[str]] = []
        self.text = 0
        self.number = 0  # the row being read, as the file counts (blank rows included)

    def add(self, row: list[str]) -> None:
        self.number += 1
        # Blank rows are dropped, but each still costs a step: a file of nothing but line breaks stops here.
        if self.number > 10 * (self.max_rows + 1):
            raise self.too_many_rows()
        if len(row) > self.max_columns:
            while row and not row[-1]:  # empty trailing cells (a spreadsheet's padding) are not columns
                row.pop()
            if len(row) > self.max_columns:
                raise self.too_many_columns(len(row))
        lengths = list(map(len, row))
        size = sum(lengths)
        if size > self.max_line:
            if max(lengths) > self.max_cell:
                raise self.cell_too_long()
            raise FileProblem(
                _("Row %(row)s is longer than %(limit)s characters. Shorten it and try again.")
                % {"row": self.number, "limit": self.max_line}
            )
        if size > self.max_cell and max(lengths) > self.max_cell:
            raise self.cell_too_long()
        self.text += size
        if self.text > self.max_text:
            raise _too_much_text()
        joined = "".join(row)
        if not joined.strip():
            return
        if "\x00" in joined:
            raise _nul()
        if len(self.rows) > self.max_rows:  # the header and max_rows rows are in already
            raise self.too_many_rows()
        self.rows.append(row)

    def too_many_rows(self) -> FileProblem:
        return FileProblem(
            _(
                "The file has more than %(limit)s rows, more than can be imported at once. Split it and import each part."
            )
            % {"limit": self.max_rows}
        )

    def too_many_columns(self, count: int) -> FileProblem:
        return FileProblem(
            _(
                "Row %(row)s has %(count)s columns; at most %(limit)s can be imported. "
                "Remove the columns you do not need and try again."
            )
            % {"row": self.number, "count": count, "limit": self.max_columns}
        )

    def cell_too_long(self) -> FileProblem:
        return FileProblem(
            _("Row %(row)s has a cell longer than %(limit)s characters. Shorten it and try again.")
            % {"row": self.number, "limit": self.max_cell}
        )

    def finish(self) -> tuple[list[str], list[list[str]]]:
        if not self.rows:
            raise FileProblem(_("The file is empty."))
        headers = [cell.strip() for cell in self.rows[0]]
        if not any(headers):
            raise FileProblem(_("The first row must name the columns."))
        body = self.rows[1:]
        if not body:
            raise FileProblem(_("The file has column names but no rows to import."))
        return headers, body


def _delimiter(text: str, max_line: int) -> str:
    """`,`, `;` or tab: the one the header row uses most outside quotes (a comma when none).

    Linear in the header's length, and only the header's first `max_line` characters are
    looked at: csv.Sniffer's regular expressions take seconds on a crafted line of a few KB.
    """
    header = text[: max_line + 1].split("\n", 1)[0]
    header = _QUOTED.sub("", header)
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: (counts[delimiter], delimiter == ","))
    return best if counts[best] else ","


def read_csv_text(text: str) -> tuple[list[str], list[list[str]]]:
    table = _Table()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, table.max_line))
    try:
        for row in reader:
            table.add(row)
    except csv.Error as error:
        if "field larger" in str(error):
            table.number += 1
            raise table.cell_too_long() from None
        raise FileProblem(_("The file is not a valid CSV file (a quote is not closed).")) from None
    return table.finish()


def _check_zip(data: bytes) -> None:
    """Refuse an .xlsx that unpacks to too much, and one whose shared strings hold a cell over the limit.

    Both before openpyxl opens it: it reads the whole shared-strings part into memory when the
    workbook is opened (one 100 MB string in a 100 KB file). The sizes a zip declares are what
    its members can unpack to (zipfile stops there and fails the checksum).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _damaged_xlsx() from None
    if sum(member.file_size for member in members) > settings.IMPORT_MAX_UNCOMPRESSED_BYTES:
        raise _too_much_text()
    names = {member.filename for member in members}
    try:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError):
        raise _damaged_xlsx() from None
    for override in types:
        if override.get("ContentType", "").endswith(_SHARED_STRINGS_TYPE):
            name = override.get("PartName", "").lstrip("/")
            if name in names:
                _check_shared_strings(archive, name)


def _check_shared_strings(archive: zipfile.ZipFile, name: str) -> None:
    """Stream the shared-strings part through expat, refusing a string longer than the cell limit as soon as it is."""
    limit = settings.IMPORT_MAX_CELL_CHARS
    length = 0
    parser = xml.parsers.expat.ParserCreate()

    def start(tag, _attrs):
        nonlocal length
        if tag == "si" or tag.endswith(":si"):  # one shared string (its text may be split in runs)
            length = 0

    def characters(data):
        nonlocal length
        length += len(data)
        if length > limit:
            raise FileProblem(
                _("The Excel file has a cell longer than %(limit)s characters. Shorten it and try again.")
                % {"limit": limit}
            )

    parser.StartElementHandler = start
    parser.CharacterDataHandler = characters
    try:
        with archive.open(name) as part:
            while chunk := part.read(64 * 1024):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (xml.parsers.expat.ExpatError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _damaged_xlsx() from None


def read_xlsx(data: bytes) -> tuple[list[str], list[list[str]]]:
    import openpyxl

    _check_zip(data)
    table = _Table()
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged workbook
        raise _damaged_xlsx() from None
    try:
        sheet = workbook.worksheets[0]
        # The sheet's declared size first: a file Excel wrote says how wide it is.
        declared = sheet.max_column or 0
        if declared > table.max_columns:
            table.number = 1
            raise table.too_many_columns(declared)
        # A file without a declared size is read one column past the limit at most: a lone cell in
        # column XFD would otherwise make every row 16,384 cells wide. Cells further out are not read.
        limit = declared or table.max_columns + 1
        width = 0  # the widest row so far, not counting empty trailing cells
        for values in sheet.iter_rows(min_col=1, max_col=limit, values_only=True):
            tail = values[width:]
            if tail.count(None) != len(tail):  # rare: a row wider than all before it
                width += max(index for index, value in enumerate(tail) if value is not None) + 1
            table.add(["" if value is None else _cell_text(value) for value in values[:width]])
    except FileProblem:
        raise
    except Exception:
        raise _damaged_xlsx() from None
    finally:
        workbook.close()
    headers, body = table.finish()
    # Rows read before a wider one are short of its width; the header too.
    headers += [""] * (width - len(headers))
    return headers, [row + [""] * (width - len(row)) if len(row) < width else row for row in body]


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def is_vcard(text: str) -> bool:
    return text[:4096].lstrip().upper().startswith("BEGIN:VCARD")


def read_vcard_text(text: str) -> tuple[list[str], list[list[str]]]:
    from transfers.vcard import iter_vcards, vcards_to_table

    table = _Table()
    for row in vcards_to_table(iter_vcards(text)):
        table.add(row)
    return table.finish()


def read_table(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of an uploaded CSV, XLSX or vCard (the format is told by content, not by name)."""
    check_upload(data)
    if data.startswith(ZIP_MAGIC):
        return read_xlsx(data)
    text = decode(data)
    if is_vcard(text):
        return read_vcard_text(text)
    return read_csv_text(text)
