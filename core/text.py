"""Text normalization for search and duplicate detection.

Names are stored as typed and, beside them, in the normalized form that
`normalize_text` returns; search compares normalized input with the normalized
column, so "أحمد", "احمد" and "أَحْمَـد" find the same person.
"""

import sys
import unicodedata
from functools import cache, lru_cache

# Arabic-Indic (U+0660..U+0669) and Extended Arabic-Indic / Persian (U+06F0..U+06F9) digits.
_DIGITS = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})

_LETTERS = {
    ord("أ"): "ا",
    ord("إ"): "ا",
    ord("آ"): "ا",
    ord("ٱ"): "ا",  # alef wasla
    ord("ة"): "ه",
    ord("ى"): "ي",
    ord("ـ"): None,  # tatweel (kashida) is decoration only
}


def normalize_digits(value: str) -> str:
    """Replace Arabic-Indic and Persian digits by ASCII digits."""
    return value.translate(_DIGITS)


@cache
def _fold_table() -> dict:
    """One translation after decomposition: combining marks dropped, letters folded, digits made ASCII."""
    table = {code: None for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code))}
    table.update(_LETTERS)
    table.update(_DIGITS)
    return table


def _fold_once(value: str) -> str:
    if value.isascii():  # nothing to decompose, fold or translate: only case and spaces
        return " ".join(value.lower().split())
    # NFKD splits precomposed letters (é, أ) into base + combining mark; the
    # Arabic letters with hamza decompose to alef + hamza mark, which is dropped.
    decomposed = unicodedata.normalize("NFKD", value.translate(_LETTERS))
    return " ".join(decomposed.translate(_fold_table()).casefold().split())


@lru_cache(maxsize=16384)
def normalize_text(value: str | None) -> str:
    """Return the search form of `value`.

    Removes combining marks (Arabic tashkeel, Latin accents) and tatweel; folds
    the alef forms to bare alef, teh marbuta to heh, alef maksura to yeh; turns
    Arabic-Indic digits into ASCII; casefolds; collapses whitespace.
    Idempotent: normalize_text(normalize_text(x)) == normalize_text(x).
    Remembered for the last few thousand values: names repeat, above all in imports.
    """
    if not value:
        return ""
    result = _fold_once(value)
    # Casefolding or decomposition can expose a character that folds again
    # (rare compatibility characters); repeat until nothing changes.
    for _ in range(4):
        again = _fold_once(result)
        if again == result:
            break
        result = again
    return result
