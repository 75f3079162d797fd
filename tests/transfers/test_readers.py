import codecs
import io
import zipfile

import openpyxl
import pytest
from django.utils import translation

from tests.transfers.conftest import ARABIC_ROWS, csv_bytes, xlsx_bytes
from transfers.readers import FileProblem, read_table

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "data",
    [
        csv_bytes(ARABIC_ROWS),
        csv_bytes(ARABIC_ROWS, bom=True),
        codecs.BOM_UTF16_LE + "\r\n".join(",".join(r) for r in ARABIC_ROWS).encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "\r\n".join(",".join(r) for r in ARABIC_ROWS).encode("utf-16-be"),
        csv_bytes(ARABIC_ROWS, encoding="cp1256"),
        csv_bytes(ARABIC_ROWS, delimiter=";"),
        csv_bytes(ARABIC_ROWS, delimiter="\t", encoding="cp1256"),
        xlsx_bytes(ARABIC_ROWS),
    ],
    ids=["utf8", "utf8-bom", "utf16le", "utf16be", "cp1256", "semicolon", "tab-cp1256", "xlsx"],
)
def test_every_encoding_and_format_reads_the_same_arabic_table(data):
    headers, rows = read_table(data)
    assert headers == ARABIC_ROWS[0]
    assert rows[0][:2] == ["أحمد", "الشهري"]
    assert rows[1][3] == "+966 55 444 5566"


def test_commas_inside_quotes_with_semicolon_delimiter():
    data = b'name;notes\r\n"Acme";"one, two"\r\n'
    headers, rows = read_table(data)
    assert headers == ["name", "notes"] and rows == [["Acme", "one, two"]]


def _problem(data) -> str:
    with pytest.raises(FileProblem) as info:
        read_table(data)
    return info.value.message


def test_truncated_xlsx_is_a_clear_problem():
    data = xlsx_bytes(ARABIC_ROWS)
    with translation.override("en"):
        assert _problem(data[: len(data) // 2]) == (
            "The Excel file is damaged or incomplete: open it in Excel, save it again and retry."
        )
    with translation.override("ar"):
        assert (
            _problem(data[: len(data) // 2])
            == "ملف Excel تالف أو غير مكتمل: افتحه في Excel واحفظه مرة أخرى ثم أعد المحاولة."
        )


def test_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert _problem(out.getvalue())


def test_binary_junk_and_empty_and_only_headers():
    import random

    junk = bytes(random.Random(7).randrange(256) for _ in range(4000))
    assert _problem(junk)
    assert _problem(b"")
    assert _problem(b"\n\n")
    assert _problem(csv_bytes([ARABIC_ROWS[0]]))


def test_mismatched_columns_are_read_row_by_row():
    headers, rows = read_table(b"a,b,c\n1\n1,2,3,4\n")
    assert headers == ["a", "b", "c"] and rows == [["1"], ["1", "2", "3", "4"]]


def test_a_cell_as_long_as_excel_allows_is_read_and_a_longer_one_refused(settings):
    big = "ب" * settings.IMPORT_MAX_CELL_CHARS
    _headers, rows = read_table(csv_bytes([["name", "notes"], ["x", big]]))
    assert len(rows[0][1]) == 32_767
    message = _problem(csv_bytes([["name", "notes"], ["x", big + "ب"]]))
    assert "32767" in message and "2" in message  # the limit and the row


def test_limits_come_from_settings(settings):
    settings.IMPORT_MAX_ROWS = 1
    assert "1" in _problem(csv_bytes(ARABIC_ROWS))
    settings.IMPORT_MAX_ROWS = 100
    settings.IMPORT_MAX_COLUMNS = 5
    assert "5" in _problem(csv_bytes(ARABIC_ROWS)) and "6" in _problem(xlsx_bytes(ARABIC_ROWS))
    settings.IMPORT_MAX_COLUMNS = 6
    settings.IMPORT_MAX_LINE_CHARS = 40
    assert "40" in _problem(csv_bytes(ARABIC_ROWS))
    settings.IMPORT_MAX_LINE_CHARS = 1000
    settings.IMPORT_MAX_CELL_CHARS = 10
    assert "10" in _problem(csv_bytes(ARABIC_ROWS))
    settings.IMPORT_MAX_CELL_CHARS = 1000
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1000
    assert _problem(xlsx_bytes(ARABIC_ROWS))  # its parts unpack to more than 1,000 bytes
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 10**8
    settings.IMPORT_MAX_BYTES = 10
    assert _problem(csv_bytes(ARABIC_ROWS))


def test_delimiter_is_told_from_the_header_outside_quotes():
    assert read_table(b'"a;b",c\r\n1,2\r\n') == (["a;b", "c"], [["1", "2"]])
    assert read_table(b'a;"b,c,d"\r\n1;2\r\n') == (["a", "b,c,d"], [["1", "2"]])
    assert read_table(b"a\r\n1\r\n") == (["a"], [["1"]])


def test_a_workbook_without_a_declared_size_is_read_no_wider_than_the_limit(settings):
    """Without a <dimension>, a lone far cell does not make every row 16,384 cells wide."""
    import re as regex
    import time

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["name", "email"])
    sheet.append(["Sara", "s@example.test"])
    sheet.cell(row=2, column=16_384, value="far")
    out = io.BytesIO()
    workbook.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    rezipped = io.BytesIO()
    with zipfile.ZipFile(rezipped, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = source.read(member.filename)
            if member.filename.startswith("xl/worksheets/"):
                content = regex.sub(rb"<dimension[^>]*/>", b"", content)
            target.writestr(member.filename, content)
    start = time.perf_counter()
    headers, rows = read_table(rezipped.getvalue())
    assert time.perf_counter() - start < 2
    assert headers == ["name", "email"] and rows == [["Sara", "s@example.test"]]
    sheet.cell(row=2, column=settings.IMPORT_MAX_COLUMNS + 1, value="one too far")
    out = io.BytesIO()
    workbook.save(out)
    assert str(settings.IMPORT_MAX_COLUMNS) in _problem(out.getvalue())


def test_unclosed_quote_or_broken_utf16():
    assert _problem(codecs.BOM_UTF16_LE + b"\x00\xd8")
