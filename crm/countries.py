"""Countries for company addresses: ISO 3166 two-letter codes, named in the reader's language."""

from functools import lru_cache

import phonenumbers
from babel import Locale
from django.utils.translation import get_language


def _locale(language: str | None) -> str:
    return (language or get_language() or "en").split("-")[0]


@lru_cache(maxsize=8)
def _names(locale: str) -> dict[str, str]:
    territories = Locale.parse(locale).territories
    # Babel also names regions that are not countries (EU, UN, "ZZ" unknown); the
    # phone metadata lists exactly the places a customer can be reached in.
    return {code: territories.get(code, code) for code in phonenumbers.SUPPORTED_REGIONS}


def country_name(code: str, language: str | None = None) -> str:
    """Name of the country with ISO code `code` in the active language, or the code itself if unknown."""
    if not code:
        return ""
    return _names(_locale(language)).get(code, code)


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in the active language."""
    names = _names(_locale(language))
    return sorted(names.items(), key=lambda item: item[1])
