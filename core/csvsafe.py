"""Cells written to CSV and XLSX files people open in a spreadsheet: the one place they are made safe.

Every CSV or XLSX writer (exports, the import's errors file, the dashboard tables) passes each cell,
headers included, through `spreadsheet_cell`, so a value typed by anyone (or a file's own header)
never runs as a formula in the reader's spreadsheet, and a stored character a workbook cannot hold
never breaks a whole export.
"""

import re

# A spreadsheet treats a cell starting with one of these as a formula (CSV/DDE injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The C0 control characters XML 1.0 (and so an .xlsx) cannot hold: openpyxl refuses a cell with one
# (its ILLEGAL_CHARACTERS_RE). Tab, line feed and carriage return are allowed.
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def spreadsheet_cell(value, *, xlsx: bool = False) -> str:
    """Text of a cell, with a leading quote when a spreadsheet would run it as a formula.

    For an XLSX the control characters a workbook cannot store are dropped (they are invisible
    anyway), so one record with such a character does not make the export fail for everyone.
    """
    if value is None:
        return ""
    text = str(value)
    if xlsx:
        text = XLSX_ILLEGAL.sub("", text)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
