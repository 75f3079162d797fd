"""Text cleaning on input, and normalization for search and duplicate detection.

Every text a person or a client types goes through `clean_text` on its way in
(forms, API, bulk upserts and imports alike, through the model fields of
core/fields.py). Names are then stored as typed and, beside them, in the
normalized form that `normalize_text` returns; search compares normalized
input with the normalized column, so "أحمد", "احمد" and "أَحْمَـد" find the
same person.
"""

import re
import sys
import unicodedata
from functools import cache, lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

# ---- the one input rule ----

# Invisible format characters, removed silently. Bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) reorder what follows them: "N\u202egnp.exe" shows as
# "Nexe.png". The bidi marks (LRM, RLM, ALM) cannot reorder letters, but they are as
# invisible: two names that look the same would differ for search, duplicates and unique
# tag names; and every value is shown bidi-isolated (`<bdi>`, dir="auto"), so they are
# never needed to display a name right. Zero-width space, word joiner, invisible
# operators, BOM, the deprecated format controls and interlinear annotations are the same
# kind of noise (pasted from Word, Excel or phones). Zero-width joiner and non-joiner stay:
# they shape Persian and Urdu words and emoji sequences.
_INVISIBLE_RANGES = (
    (0x061C, 0x061C),
    (0x180E, 0x180E),
    (0x200B, 0x200B),
    (0x200E, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
)
INVISIBLE_CHARACTERS = frozenset(chr(c) for low, high in _INVISIBLE_RANGES for c in range(low, high + 1))
_INVISIBLE_TABLE = dict.fromkeys(map(ord, INVISIBLE_CHARACTERS))

# Refused with a field error: control characters other than tab, carriage return and line
# feed (PostgreSQL cannot store NUL; XML, hence XLSX, cannot hold the others, so one such
# record broke the team's export), lone surrogates (not text: they cannot be encoded, and
# arrive only as "\ud800" escapes in JSON) and the noncharacters of the basic plane (XML
# refuses U+FFFE and U+FFFF). They are never typed on purpose; refusing tells a client or a
# file's owner that their data is broken instead of changing it behind their back.
_CONTROLS = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]
_NOT_TEXT = [*range(0xD800, 0xE000), *range(0xFDD0, 0xFDF0), 0xFFFE, 0xFFFF]
FORBIDDEN_CHARACTERS = frozenset(map(chr, _CONTROLS + _NOT_TEXT))
_CONTROLS_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_NOT_TEXT_CLASS = r"\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
_CONTROLS_RE = re.compile(f"[{_CONTROLS_CLASS}]")
_NOT_TEXT_RE = re.compile(f"[{_NOT_TEXT_CLASS}]")
_LINE_BREAK_RE = re.compile("\r\n|[\r\u2028\u2029]")
_ONE_LINE_RE = re.compile("\r\n|[\t\n\r\u2028\u2029]")


def clean_text(value: str, *, multiline: bool) -> str:
    """Return `value` as Safqa stores typed text, or raise ValidationError for text it refuses.

    Invisible format characters (bidi controls and marks, zero-width space, BOM; see
    INVISIBLE_CHARACTERS) are removed. Line breaks (CRLF, CR, U+2028, U+2029) become "\\n" in
    multi-line text (notes); in one-line text (names, titles) line breaks and tabs become a
    space each. Any other control character (NUL, BEL, ESC, DEL, C1), a lone surrogate or a
    noncharacter is refused. Idempotent; plain Arabic and English text comes back unchanged.
    """
    if value.isprintable():  # no control, format, surrogate, unassigned or line-separator character
        return value
    if _NOT_TEXT_RE.search(value):
        raise ValidationError(
            gettext_lazy("This field contains characters that are not valid text."), code="invalid_characters"
        )
    if _CONTROLS_RE.search(value):
        raise ValidationError(gettext_lazy("This field contains control characters."), code="control_characters")
    value = value.translate(_INVISIBLE_TABLE)
    return _LINE_BREAK_RE.sub("\n", value) if multiline else _ONE_LINE_RE.sub(" ", value)


def validate_clean_text(value) -> None:
    """A validator: refuses text clean_text would refuse (text it returned always passes)."""
    if isinstance(value, str):
        clean_text(value, multiline=True)


# The API schema says which characters are refused (core/api/schema.py reads this), as an ECMA-262 pattern.
# Surrogates are left out of it: no Unicode string holds one, and regex engines that work on code
# points (Rust's, in schema validators) refuse a pattern naming them; they are refused all the same.
validate_clean_text.openapi_schema = lambda: {
    "pattern": "^[^" + _CONTROLS_CLASS.replace(r"\x", r"\u00") + r"\ufdd0-\ufdef\ufffe\uffff]*$"
}

# ---- search form ----

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
    # Invisible format characters never tell two names apart (old rows and search input may hold them).
    table.update(_INVISIBLE_TABLE)
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
