"""Writing to one member outside a request: in their language and their time zone."""

import zoneinfo
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone, translation

from core import formatting


def supported_languages() -> set[str]:
    """Codes of the interface languages (settings.LANGUAGES), read when asked, never at import time."""
    return {code for code, _name in settings.LANGUAGES}


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The time zone called `name`; the server's when the name is unknown (stale or mistyped)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def user_zone(user) -> zoneinfo.ZoneInfo:
    return zone_named(user.time_zone)


@contextmanager
def user_locale(user):
    """Activate `user`'s language, time zone, digits and calendar, as the middleware does for their requests.

    Emails, notifications and follow-ups written by background jobs use this, so
    that "tomorrow 09:00" means their morning, in their words.
    """
    with (
        translation.override(user.language or settings.LANGUAGE_CODE),
        timezone.override(user_zone(user)),
        formatting.override(formatting.preferences_of(user)),
    ):
        yield
