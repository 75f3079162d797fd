"""Helpers building import files in every supported encoding and format."""

import io

import openpyxl
import pytest


def csv_bytes(rows, *, encoding="utf-8", delimiter=",", bom=False) -> bytes:
    text = "\r\n".join(delimiter.join(cells) for cells in rows) + "\r\n"
    data = text.encode(encoding)
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    return data


def xlsx_bytes(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


ARABIC_ROWS = [
    ["الاسم الأول", "اسم العائلة", "البريد الإلكتروني", "الجوال", "الشركة", "ملاحظات"],
    ["أحمد", "الشهري", "ahmad@example.test", "0501112233", "شركة الأفق", "عميل مهم"],
    ["فاطمة", "العتيبي", "fatima@example.test", "+966 55 444 5566", "شركة الأفق", ""],
]


@pytest.fixture
def arabic_rows():
    return [list(row) for row in ARABIC_ROWS]
